"""Named choices the request writes: a string argument with a fixed set of values, one of them named.

A parameter that takes one of a few values (a schema ``enum``, or values a description lists: "Allowed
values: 'copper', 'aluminum'") and whose value the request writes ("with resistivity of copper and
aluminum") leaves a small model two ways to go wrong: leave the argument out when it is optional
(SmolLM2-135M wrote ``calculate_resistance(length=5, area=0.01)`` for that request), or pick a
value the request does not name. On BFCL's expected calls, when the request names one of a string
parameter's values, the argument is there with a named value 93 times in 98 (simple_python and
parallel, required and optional parameters alike), and never left out. So such an argument becomes
required, and its values are the ones the request names.

A boolean flag is the same kind of choice: when the request writes the thing a flag's name is about
("their history" for ``include_history``), the flag is written, true, unless a negation comes just
before ("if we do not include the impact of human activities"). On BFCL's expected calls that reads
64 of 72 flags right (simple_python 24 of 24; parallel's misses are requests that ask for a flag
both ways, one call each).

Linear in the request: a bounded number of values, each found with one case-insensitive search.
"""

from __future__ import annotations

import re
from typing import Any

from agentkit.backends.local.spans import MAX_TEXT_CHARS

MAX_CHOICES = 64
"""Only this many of a parameter's values are looked for (a schema may list thousands)."""
MAX_CHOICE_CHARS = 60
"""Longer values are never named in a request word for word."""

_LISTED = re.compile(r"\b(?:allowed values|possible values|one of|choices|options)\b", re.IGNORECASE)
_QUOTED = re.compile(r"'([^'\n]{1,60})'|\"([^\"\n]{1,60})\"")
_FORM_KEYS = ("const", "pattern", "format")
_WORD = re.compile(r"[A-Za-z']+")
_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_GENERIC_FLAG_WORDS = frozenset(
    re.split(
        r"\s+",
        "include is get use show with return enable as by to of the and or in for details detail info "
        "data flag only all value values consider check list",
    )
)
"""Words of a flag's name that say nothing about what it is about (``include_``, ``is_``, ``show_``)."""
_NEGATIONS = frozenset(("not", "without", "don't", "dont", "exclude", "excluding", "never", "nor"))
_NEGATION_REACH = 6
"""A negation this many words or fewer before the flag's word turns it off."""


def listed_values(schema: dict[str, Any]) -> list[str]:
    """The string values ``schema`` (one parameter's) allows: its ``enum``'s strings, or the quoted
    values its description lists after "allowed values", "one of", "options" and the like."""
    enum = schema.get("enum")
    if isinstance(enum, list):
        return [value for value in enum[:MAX_CHOICES] if isinstance(value, str)]
    description = str(schema.get("description") or "")[:2000]
    listed = _LISTED.search(description)
    if listed is None:
        return []
    clause = description[listed.end() : listed.end() + 400].split(". ")[0]
    return [single or double for single, double in _QUOTED.findall(clause)][:MAX_CHOICES]


def named_in(text: str, values: list[str]) -> list[str]:
    """The ``values`` (the first :data:`MAX_CHOICES`) that ``text`` writes as whole words, in any case,
    in the order of ``values``."""
    return [value for _, value in named_where(text, values)]


def named_where(text: str, values: list[str]) -> list[tuple[int, str]]:
    """Where ``text`` first names each of the ``values`` it names (as :func:`named_in` reads them),
    with the value, in the order of ``values``."""
    lowered = text.lower()
    named = []
    for value in values[:MAX_CHOICES]:
        if not value.strip() or len(value) > MAX_CHOICE_CHARS:
            continue
        found = re.search(r"(?<!\w)" + re.escape(value.lower()) + r"(?!\w)", lowered)
        if found is not None:
            named.append((found.start(), value))
    return named


def flag_named(name: str, text: str) -> bool | None:
    """The value the request gives the boolean flag ``name`` by writing what it is about (singular or
    plural, any case), ``False`` when a negation comes just before ("no", lowercase only: "Case No 5"
    negates nothing); ``None`` when the request does not write it."""
    parts = {part.lower() for part in _NAME_PARTS.findall(name)} - _GENERIC_FLAG_WORDS
    if not parts:
        return None
    words = _WORD.findall(text)
    for index, word in enumerate(words):
        lowered = word.lower()
        if lowered in parts or lowered.removesuffix("s") in parts or f"{lowered}s" in parts:
            before = words[max(0, index - _NEGATION_REACH) : index]
            return not any(w.lower() in _NEGATIONS or w == "no" for w in before)
    return None


def choose_named(schema: dict[str, Any], text: str) -> None:
    """In place, an object schema: every string property with listed values the request names takes
    only the named ones, every boolean flag the request writes about takes the value it gives
    (:func:`flag_named`), and both become required."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    text = text[:MAX_TEXT_CHARS]
    required = list(schema.get("required") or [])
    for key, sub in properties.items():
        if not isinstance(sub, dict) or any(word in sub for word in _FORM_KEYS):
            continue
        if sub.get("type") == "boolean" and "enum" not in sub:
            flag = flag_named(str(key), text)
            named: list[Any] = [] if flag is None else [flag]
        elif sub.get("type") == "string":
            named = list(named_in(text, listed_values(sub)))
        else:
            continue
        if named:
            sub["enum"] = named
            if key not in required:
                required.append(key)
    if required:
        schema["required"] = required

"""Named choices the request writes: a string argument with a fixed set of values, one of them named.

A parameter that takes one of a few values (a schema ``enum``, or values a description lists: "Allowed
values: 'copper', 'aluminum'") and whose value the request writes ("with resistivity of copper and
aluminum") leaves a small model two ways to go wrong: leave the argument out when it is optional
(SmolLM2-135M wrote ``calculate_resistance(length=5, area=0.01)`` for that request), or pick a
value the request does not name. On BFCL's expected calls, when the request names one of a string
parameter's values, the argument is there with a named value 93 times in 98 (simple_python and
parallel, required and optional parameters alike), and never left out. So such an argument becomes
required, and its values are the ones the request names.

Linear in the request: a bounded number of values, each found with one case-insensitive search.
"""

from __future__ import annotations

import re
from typing import Any

MAX_CHOICES = 64
"""Only this many of a parameter's values are looked for (a schema may list thousands)."""
MAX_CHOICE_CHARS = 60
"""Longer values are never named in a request word for word."""

_LISTED = re.compile(r"\b(?:allowed values|possible values|one of|choices|options)\b", re.IGNORECASE)
_QUOTED = re.compile(r"'([^'\n]{1,60})'|\"([^\"\n]{1,60})\"")
_FORM_KEYS = ("const", "pattern", "format")


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
    lowered = text.lower()
    named = []
    for value in values[:MAX_CHOICES]:
        if not value.strip() or len(value) > MAX_CHOICE_CHARS:
            continue
        pattern = r"(?<!\w)" + re.escape(value.lower()) + r"(?!\w)"
        if re.search(pattern, lowered) is not None:
            named.append(value)
    return named


def choose_named(schema: dict[str, Any], text: str) -> None:
    """In place, an object schema: every string property with listed values the request names takes
    only the named ones and becomes required."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    required = list(schema.get("required") or [])
    for key, sub in properties.items():
        if not isinstance(sub, dict) or sub.get("type") != "string":
            continue
        if any(word in sub for word in _FORM_KEYS):
            continue
        named = named_in(text, listed_values(sub))
        if not named:
            continue
        sub["enum"] = named
        if key not in required:
            required.append(key)
    if required:
        schema["required"] = required

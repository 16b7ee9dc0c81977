"""Values from the request: argument values a small model must take from the user's words.

Small models fill a string argument with whatever the prompt made likely: the example in the
parameter's description ("San Francisco, CA" for another city), a word of the tool's name, a value
from a previous call. When a string argument's schema says nothing about its form (no ``enum``,
``const``, ``pattern`` or ``format``), the value a user means is almost always written in the request
itself (on BFCL, 86% of the expected string values of simple_python and 96% of parallel's are spans
of the question). :func:`span_pattern` builds an anchored regex for JSON schema's ``pattern`` that
admits exactly the spans of the request's text: whole words, up to :data:`MAX_SPAN_CHUNKS` pieces
long, never starting or ending on a space or on the punctuation that closes a phrase.

The regex is linear in the text's length times the span bound (each start position nests its
continuations as optional groups: ``a(?: b(?: c)?)?``), so a long request costs kilobytes, not the
quadratic list of every span.

Arrays get a repetition bound: small models repeat the last item of a list until the token limit
(``[85, 90, 91, 91, 91, ...]``, ``["Vegan", "Vegan", ...]``). An array of numbers holds at most as many
items as the request writes numbers, an array of allowed values at most as many as there are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

MAX_SPAN_CHUNKS = 24
"""Longest span, in pieces (a word, a run of spaces, or a run of other characters): about 12 words."""

MAX_TEXT_CHARS = 2000
"""Only the first this many characters of the text are used (the regex grows with the text)."""

_CHUNKS = re.compile(r"\w+|\s+|[^\w\s]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NO_EDGE = frozenset("'\"`.,;:!?()[]{}")
"""Pieces a value never starts or ends with (quotes and the punctuation around phrases)."""
_META = frozenset("\\.+*?()|[]{}^$#&-~")


def _escape(text: str) -> str:
    """Escape regex metacharacters only (Rust's regex rejects escapes of ordinary characters such as
    a space, which :func:`re.escape` writes)."""
    out = []
    for char in text:
        if char in _META:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        else:
            out.append(char)
    return "".join(out)


def _is_edge(chunk: str) -> bool:
    return not chunk.isspace() and chunk not in _NO_EDGE


def _groups(chunks: list[str]) -> list[str]:
    """Chunks merged so that every group ends on a piece a span may end with (the trailing group
    may not: it is dropped), each already escaped."""
    groups: list[str] = []
    pending = ""
    for chunk in chunks:
        pending += _escape(chunk)
        if _is_edge(chunk):
            groups.append(pending)
            pending = ""
    return groups


def span_pattern(text: str, max_chunks: int = MAX_SPAN_CHUNKS) -> str | None:
    """An anchored regex matching every span of ``text`` (``None`` when it has no word to offer)."""
    chunks = _CHUNKS.findall(text[:MAX_TEXT_CHARS])
    alternatives: list[str] = []
    seen: set[str] = set()
    for start, chunk in enumerate(chunks):
        if not _is_edge(chunk):
            continue
        groups = _groups(chunks[start : start + max_chunks])
        head, rest = groups[0], groups[1:]
        nested = ""
        for group in reversed(rest):
            nested = f"(?:{group}{nested})?"
        alternative = head + nested
        if alternative not in seen:
            seen.add(alternative)
            alternatives.append(alternative)
    if not alternatives:
        return None
    return "^(?:" + "|".join(alternatives) + ")$"


_PINNED = ("enum", "const", "pattern", "format")
"""A string schema with one of these says what its value looks like; it gets no span constraint."""


@dataclass(frozen=True)
class RequestValues:
    """What the request offers as argument values: its word spans and how many numbers it writes."""

    text: str

    @cached_property
    def spans(self) -> str | None:
        return span_pattern(self.text)

    @cached_property
    def numbers(self) -> int:
        return len(_NUMBER.findall(self.text))

    def constrain(self, schema: dict[str, Any]) -> None:
        """In place, one schema node (not its children): a free-form string becomes a span of the
        request; an array of numbers or of allowed values gets its repetition bound."""
        kind = schema.get("type")
        if kind == "string" and not any(key in schema for key in _PINNED) and self.spans is not None:
            schema["pattern"] = self.spans
        elif kind == "array" and "maxItems" not in schema and isinstance(schema.get("items"), dict):
            items = schema["items"]
            if isinstance(items.get("enum"), list) and items["enum"]:
                bound = len(items["enum"])
            elif items.get("type") in ("number", "integer") and "enum" not in items:
                bound = max(1, self.numbers)
            else:
                return
            schema["maxItems"] = max(bound, int(schema.get("minItems", 0)))

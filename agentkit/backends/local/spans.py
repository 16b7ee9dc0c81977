"""Spans of the request: the values a free-form string argument may take.

When a string argument's schema says nothing about its form (no ``enum``, ``const``, ``pattern`` or
``format``), the value a user means is almost always written in the request itself (on BFCL, 86% of
the expected string values of simple_python and 96% of parallel's are spans of the question).
:func:`span_pattern` builds an anchored regex for JSON schema's ``pattern`` that admits exactly the
spans of the request's text: whole words, up to :data:`MAX_SPAN_CHUNKS` pieces long, never starting
or ending on a space or on the punctuation that closes a phrase, never starting with a lowercase
function word, never running past an unquoted list joiner.

The regex is linear in the text's length times the span bound (each start position nests its
continuations as optional groups: ``a(?: b(?: c)?)?``), so a long request costs kilobytes, not the
quadratic list of every span.
"""

from __future__ import annotations

import re

MAX_SPAN_CHUNKS = 24
"""Longest span, in pieces (a word, a run of spaces, or a run of other characters): about 12 words."""

MAX_TEXT_CHARS = 2000
"""Only the first this many characters of the text are used (the regex grows with the text)."""

_CHUNKS = re.compile(r"\w+|\s+|[^\w\s]")
_JOINER_WORDS = frozenset(("and", "or", "&"))
_NO_START = frozenset(
    re.split(
        r"\s+",
        "the a an its their his her my our your what which how in on at for to of with by from then "
        "also is are was i we it that and or can could would you please between "
        "After Also And Then Finally Lastly Now Next Can Could Would Please What How Which Where When "
        "Why Who Is Are Do Does Did If Additionally Moreover Furthermore Besides Plus However Find Get "
        "Calculate Compute Show Give Tell List Let Make Provide",
    )
)
"""Words a value never starts with: lowercase function words ("the last six months", "can you")
and the words that start a request or a sentence ("Find", "After that"). On BFCL, 2 of the 1,192
expected strings of simple_python and parallel do ("this weekend" and the quoted "I love the food
here!", kept by leaving "this" and "I" out)."""
_QUOTED = re.compile(r"(?<!\w)'(?:[^'\n]|'(?=\w)){1,300}?'(?!\w)|\"[^\"\n]{1,300}?\"")
"""Quoted text: an apostrophe inside a word ("It's") neither opens nor closes it; bounded, so finding
every quote stays linear."""
_NO_EDGE = frozenset("'\"`.,;:!?()[]{}")
"""Pieces a value never starts or ends with (quotes and the punctuation around phrases)."""
_META = frozenset("\\.+*?()|[]{}^$#&-~")


def escape(text: str) -> str:
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
        pending += escape(chunk)
        if _is_edge(chunk):
            groups.append(pending)
            pending = ""
    return groups


def chunks_of(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in _CHUNKS.finditer(text[:MAX_TEXT_CHARS])]


def span_pattern(text: str, max_chunks: int = MAX_SPAN_CHUNKS, after: int = -1) -> str | None:
    """An anchored regex matching every span of ``text`` (``None`` when it has no word to offer);
    ``after``: only spans that start after this character offset."""
    alternatives = span_alternatives(chunks_of(text), max_chunks, after)
    return "^(?:" + "|".join(alternatives) + ")$" if alternatives else None


def span_alternatives(
    chunks: list[tuple[int, str]],
    max_chunks: int,
    after: int,
    exclude: str | None = None,
    like: str | None = None,
) -> list[str]:
    """One regex alternative per start position (after ``after``), nesting its continuations; with
    ``exclude``, no span starts where that text is written ("Tokyo" must give way: neither "Tokyo"
    written again nor "Tokyo to Sydney"); with ``like`` (a value an earlier call took), only spans
    of its kind: the same case of the first letter, and at most about twice as long. Of the 244
    string values that change between BFCL's expected parallel calls, 241 keep the case and 242 the
    length ("Amazon rainforest" is not followed by "year", nor "Galapagos Islands" by a clause)."""
    if like:
        pieces = len(chunks_of(like))
        max_chunks = min(max_chunks, max(2 * pieces + 1, pieces + 4))
    texts = [chunk for _, chunk in chunks]
    joiners = _joiners_outside_quotes(chunks)
    alternatives: list[str] = []
    seen: set[str] = set()
    for index, (offset, chunk) in enumerate(chunks):
        if offset <= after or not _is_edge(chunk) or index in joiners or chunk in _NO_START:
            continue
        if exclude and _starts_with(texts, index, exclude):
            continue
        if like and chunk[0].isupper() != like[0].isupper():
            continue
        end = min(len(texts), index + max_chunks)
        end = next((at for at in range(index, end) if at in joiners), end)
        groups = _groups(texts[index:end])
        if not groups:
            continue
        head, rest = groups[0], groups[1:]
        nested = ""
        for group in reversed(rest):
            nested = f"(?:{group}{nested})?"
        alternative = head + nested
        if alternative not in seen:
            seen.add(alternative)
            alternatives.append(alternative)
    return alternatives


def _joiners_outside_quotes(chunks: list[tuple[int, str]]) -> set[int]:
    """The indexes of the chunks that join list items ("and", "or", "&", and a comma right after a
    full stop) outside quoted text: a span ends before them ("Apple Inc., Google LLC., and Microsoft
    Corporation" is three values, "D.C. and the Louvre" none), while a quoted phrase keeps them
    ("'fresh and delicious'"). On BFCL's expected values no unquoted span of simple_python or
    parallel holds one."""
    text = "".join(chunk for _, chunk in chunks)
    quoted = [match.span() for match in _QUOTED.finditer(text)]
    joiners = set()
    region = 0
    for index, (offset, chunk) in enumerate(chunks):
        abbreviation_ends = chunk == "," and index > 0 and chunks[index - 1][1] == "."
        if chunk.lower() not in _JOINER_WORDS and not abbreviation_ends:
            continue
        while region < len(quoted) and quoted[region][1] <= offset:
            region += 1
        if region < len(quoted) and quoted[region][0] <= offset:
            continue
        joiners.add(index)
    return joiners


def _starts_with(texts: list[str], index: int, prefix: str) -> bool:
    """Whether the chunks from ``index`` on spell ``prefix`` first (reads only as far as it needs)."""
    spelled = ""
    for at in range(index, len(texts)):
        spelled += texts[at]
        if len(spelled) >= len(prefix):
            return spelled.startswith(prefix)
    return False

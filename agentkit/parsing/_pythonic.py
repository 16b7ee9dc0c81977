"""Python-call syntax for tool calls, read with :mod:`ast` (literals only, never evaluated).

Llama 3.2/4 and several small models write ``[get_weather(city="Paris"), get_time()]``; Llama 3.1's
built-in tools write ``brave_search.call(query="...")``. Arguments must be literals; ``true``,
``false`` and ``null`` are accepted too because models mix JSON into Python.

Model text is untrusted, so the work here is linear in its length: each call's source text is cut
from offsets measured once per source (``ast.get_source_segment`` re-splits the whole source on every
call), and :class:`ListEnds` finds where every candidate list closes in one shared forward pass.
"""

from __future__ import annotations

import ast
import re
import warnings
from bisect import bisect_left
from typing import Any

from agentkit.messages import ToolCall

_JSON_NAMES: dict[str, Any] = {"true": True, "false": False, "null": None, "none": None}


class _NotLiteral(ValueError):
    pass


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and not isinstance(node.value, bytes | complex | type(...)):
        return node.value
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [_literal(element) for element in node.elts]
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _NotLiteral("a ** expansion is not a literal")
        return {_key(_literal(k)): _literal(v) for k, v in zip(node.keys, node.values, strict=True) if k}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id.lower() in _JSON_NAMES:
        return _JSON_NAMES[node.id.lower()]
    raise _NotLiteral(f"{ast.unparse(node)!r} is not a literal value")


def _key(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def dotted_name(node: ast.expr) -> str | None:
    """``a.b.c`` for a name or attribute chain, else ``None``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")


class SourceSegments:
    """The text of an ast node, as ``ast.get_source_segment`` gives it, in time independent of the source.

    ast positions are line numbers and UTF-8 byte columns. Line starts are found once; a line's byte
    offsets are measured once, and only for a line that is not ASCII.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._starts = [0] + [m.end() for m in _LINE_BREAK_RE.finditer(source)]
        self._byte_offsets: dict[int, list[int] | None] = {}

    def _offset(self, lineno: int, byte_col: int) -> int:
        index = lineno - 1
        start = self._starts[index]
        if index not in self._byte_offsets:
            end = self._starts[index + 1] if index + 1 < len(self._starts) else len(self.source)
            line = self.source[start:end]
            offsets = None
            if not line.isascii():
                offsets = [0]
                for ch in line:
                    offsets.append(offsets[-1] + len(ch.encode("utf-8", "surrogatepass")))
            self._byte_offsets[index] = offsets
        offsets = self._byte_offsets[index]
        return start + (byte_col if offsets is None else bisect_left(offsets, byte_col))

    def of(self, node: ast.expr) -> str:
        if node.end_lineno is None or node.end_col_offset is None:
            return ast.unparse(node)
        begin = self._offset(node.lineno, node.col_offset)
        return self.source[begin : self._offset(node.end_lineno, node.end_col_offset)]


def call_from_node(node: ast.Call, segments: SourceSegments, name: str | None = None) -> ToolCall:
    """A :class:`ToolCall` from one call expression; non-literal or positional arguments become an error."""
    name = name or dotted_name(node.func) or ""
    if node.args:
        return ToolCall(
            name=name,
            raw_arguments=segments.of(node),
            arguments_error="positional arguments are not supported; pass every argument by name",
        )
    arguments: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            return ToolCall(
                name=name, raw_arguments=segments.of(node), arguments_error="** arguments are not supported"
            )
        try:
            arguments[keyword.arg] = _literal(keyword.value)
        except _NotLiteral as exc:
            return ToolCall(
                name=name,
                raw_arguments=segments.of(node),
                arguments_error=f"argument {keyword.arg!r}: {exc.args[0]}",
            )
    return ToolCall(name=name, arguments=arguments)


REPLY_FILENAME = "<model reply>"
"""The file name model text is compiled under, so warnings about it can be told apart."""
_REPLY_MODULE = re.escape(REPLY_FILENAME) + r"\Z"


def _silence_reply_warnings() -> None:
    """Ignore compiler warnings about model text (``1if x``, ``"\\d"``), and only those.

    ``ast.parse`` warns (SyntaxWarning, DeprecationWarning) about odd literals: printed to stderr, or
    an error under ``-W error``. ``warnings.catch_warnings`` would swap the process-wide filter list
    for every thread on each parse; instead one filter matching only :data:`REPLY_FILENAME` is kept at
    the front of the list, and put back there only when something else (a test runner) changed it.
    """
    filters = warnings.filters
    if filters:
        action, _, _, module, _ = filters[0]
        if action == "ignore" and module is not None and module.pattern == _REPLY_MODULE:
            return
    warnings.filterwarnings("ignore", module=_REPLY_MODULE)


def parse_expression(source: str) -> ast.expr | None:
    """The single expression in ``source``, or ``None`` if it is not one (or is too deeply nested)."""
    _silence_reply_warnings()
    try:
        return ast.parse(source.strip(), REPLY_FILENAME, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def pythonic_calls(source: str) -> list[ToolCall] | None:
    """The calls in ``[f(a=1), g()]`` (or a single ``f(a=1)``), or ``None`` if ``source`` is not that."""
    source = source.strip()
    expr = parse_expression(source)
    if isinstance(expr, ast.Call) and dotted_name(expr.func):
        return [call_from_node(expr, SourceSegments(source))]
    if not isinstance(expr, ast.List) or not expr.elts:
        return None
    if not all(isinstance(e, ast.Call) and dotted_name(e.func) for e in expr.elts):
        return None
    segments = SourceSegments(source)
    return [call_from_node(e, segments) for e in expr.elts if isinstance(e, ast.Call)]


_CODE_EVENT_RE = re.compile(r"""[\[\](){}'"#]""")
_SHORT_STRING_RE = {'"': re.compile(r'[\\\n"]'), "'": re.compile(r"[\\\n']")}
_LONG_STRING_RE = {'"': re.compile(r'\\|"""'), "'": re.compile(r"\\|'''")}
CANDIDATE_LIST_RE = re.compile(r"\[\s*[A-Za-z_][\w.]*\s*\(")
"""How a pythonic call list starts: ``[`` and a (dotted) name called."""


class ListEnds:
    """Where each candidate list ``[f(...`` in a text closes, in one forward pass for all of them.

    Strings (short ones end at a line break, triple-quoted ones do not) and comments are skipped as
    Python skips them. A scan starts at the first candidate asked about and runs until that list
    closes; every candidate met on the way gets its end recorded, so no character is scanned twice.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._scanned = 0
        self._ends: dict[int, int] = {}

    def end_of(self, start: int) -> int | None:
        """Index just past the ``]`` closing the candidate at ``start``; ``None`` when it never closes,
        or when ``start`` is inside a string or comment of a list that began before it."""
        if start >= self._scanned:
            self._scan(start)
        return self._ends.get(start)

    def _scan(self, start: int) -> None:
        text = self.text
        depth = 0
        opened: list[int] = []  # the open candidate lists, innermost last, and the depth each opened at
        opened_at_depth: list[int] = []
        i = start
        while (event := _CODE_EVENT_RE.search(text, i)) is not None:
            ch, at = event.group(), event.start()
            i = at + 1
            if ch in "([{":
                if ch == "[" and CANDIDATE_LIST_RE.match(text, at) is not None:
                    opened.append(at)
                    opened_at_depth.append(depth)
                depth += 1
            elif ch in ")]}":
                depth -= 1
                if opened_at_depth and opened_at_depth[-1] == depth:
                    opened_at_depth.pop()
                    self._ends[opened.pop()] = i
                if depth == 0:
                    self._scanned = i
                    return
            elif ch == "#":
                line_end = text.find("\n", i)
                if line_end == -1:
                    break
                i = line_end
            else:
                after = self._string_end(ch, at)
                if after is None:
                    break
                i = after
        self._scanned = len(text)

    def _string_end(self, quote: str, at: int) -> int | None:
        """Index after the string opened at ``at`` (or of the line break ending an unclosed short one)."""
        text = self.text
        if text.startswith(quote * 3, at):
            events, i = _LONG_STRING_RE[quote], at + 3
        else:
            events, i = _SHORT_STRING_RE[quote], at + 1
        while (event := events.search(text, i)) is not None:
            if event.group() == "\\":
                i = event.end() + 1
            elif event.group() == "\n":
                return event.start()
            else:
                return event.end()
        return None

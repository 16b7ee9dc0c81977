"""Python-call syntax for tool calls, read with :mod:`ast` (literals only, never evaluated).

Llama 3.2/4 and several small models write ``[get_weather(city="Paris"), get_time()]``; Llama 3.1's
built-in tools write ``brave_search.call(query="...")``. Arguments must be literals; ``true``,
``false`` and ``null`` are accepted too because models mix JSON into Python.
"""

from __future__ import annotations

import ast
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


def call_from_node(node: ast.Call, source: str, name: str | None = None) -> ToolCall:
    """A :class:`ToolCall` from one call expression; non-literal or positional arguments become an error."""
    name = name or dotted_name(node.func) or ""
    raw = ast.get_source_segment(source, node) or ast.unparse(node)
    if node.args:
        return ToolCall(
            name=name,
            raw_arguments=raw,
            arguments_error="positional arguments are not supported; pass every argument by name",
        )
    arguments: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            return ToolCall(name=name, raw_arguments=raw, arguments_error="** arguments are not supported")
        try:
            arguments[keyword.arg] = _literal(keyword.value)
        except _NotLiteral as exc:
            return ToolCall(
                name=name, raw_arguments=raw, arguments_error=f"argument {keyword.arg!r}: {exc.args[0]}"
            )
    return ToolCall(name=name, arguments=arguments)


def parse_expression(source: str) -> ast.expr | None:
    """The single expression in ``source``, or ``None`` if it is not one (or is too deeply nested)."""
    try:
        return ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def pythonic_calls(source: str) -> list[ToolCall] | None:
    """The calls in ``[f(a=1), g()]`` (or a single ``f(a=1)``), or ``None`` if ``source`` is not that."""
    expr = parse_expression(source)
    if isinstance(expr, ast.Call) and dotted_name(expr.func):
        return [call_from_node(expr, source.strip())]
    if not isinstance(expr, ast.List) or not expr.elts:
        return None
    if not all(isinstance(e, ast.Call) and dotted_name(e.func) for e in expr.elts):
        return None
    return [call_from_node(e, source.strip()) for e in expr.elts if isinstance(e, ast.Call)]

"""A tool's parameters as a short plain-text list, one line per parameter.

Why not the raw JSON schema: small models copy schema tokens into their calls (a string argument
written as ``"object"``, an object argument written as ``{"type": "object", "properties": ...}``) and
lose track of which parameters are optional. A line per parameter says its name, type, whether it is
required, its description, default and allowed values in words, and keeps nothing to copy but names.
Schemas this cannot say in words (``anyOf``, ``$ref``, ...) are shown as compact JSON on their line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_WORDED = {"type", "description", "enum", "default", "items", "properties", "required"}
"""Schema keywords a listing line says in words; any other keyword is shown as compact JSON."""


def _type_name(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind == "array":
        items = schema.get("items")
        if isinstance(items, Mapping) and items.get("type"):
            return f"array of {_type_name(items)}"
        return "array"
    if kind is None and "enum" in schema:
        return "one of the values below"
    return str(kind) if kind else "any"


def _extras(schema: Mapping[str, Any]) -> str:
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"]))
    if "default" in schema:
        parts.append("default " + json.dumps(schema["default"], ensure_ascii=False))
    rest = {k: v for k, v in schema.items() if k not in _WORDED}
    if rest:
        parts.append("schema " + json.dumps(rest, ensure_ascii=False))
    return "; ".join(parts)


def _lines(properties: Mapping[str, Any], required: set[str], indent: str) -> list[str]:
    lines: list[str] = []
    for name, raw in properties.items():
        schema: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        flag = "required" if name in required else "optional"
        head = f"{indent}- {name} ({_type_name(schema)}, {flag})"
        description = str(schema.get("description") or "").strip()
        extras = _extras(schema)
        text = " ".join(part for part in (description, f"({extras})" if extras else "") if part)
        lines.append(f"{head}: {text}" if text else head)
        nested = schema
        if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
            nested = schema["items"]
        sub = nested.get("properties")
        if isinstance(sub, Mapping) and sub:
            lines.extend(_lines(sub, set(nested.get("required") or ()), indent + "  "))
    return lines


def describe_function(function: Mapping[str, Any]) -> str:
    """``name: description`` and one line per parameter (nested object keys indented below theirs)."""
    head = f"{function['name']}: {str(function.get('description') or '').strip()}".rstrip(": ")
    parameters = function.get("parameters") or {}
    properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
    if not properties:
        return head + "\nParameters: none"
    required = set(parameters.get("required") or ())
    return "\n".join([head, "Parameters:", *_lines(properties, required, "")])

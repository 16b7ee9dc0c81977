"""What the scorer needs to know about a tool: each parameter's type (and its items' type) and which
parameters are required. Read from a JSON schema, or from BFCL's own function docs, whose type names
(``float``, ``dict``, ``tuple``, ``any``) JSON schema does not have."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ParamType = str | None
"""One of ``string``, ``integer``, ``number``, ``boolean``, ``array``, ``object``; ``None``: untyped."""

_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object"})
_BFCL_TYPES: dict[str, str] = {
    "string": "string",
    "integer": "integer",
    "float": "number",
    "boolean": "boolean",
    "array": "array",
    "tuple": "array",
    "dict": "object",
    "any": "string",  # BFCL's checker treats ``any`` as a string
}


@dataclass(frozen=True, slots=True)
class Param:
    type: ParamType
    items: ParamType = None


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    params: Mapping[str, Param]
    required: tuple[str, ...]

    @classmethod
    def from_json_schema(cls, name: str, parameters: Mapping[str, Any]) -> Signature:
        properties = parameters.get("properties") or {}
        params = {
            key: Param(_json_type(spec), _json_type(spec.get("items")) if isinstance(spec, dict) else None)
            for key, spec in properties.items()
        }
        required = parameters.get("required") or []
        return cls(name, params, tuple(r for r in required if isinstance(r, str)))

    @classmethod
    def from_bfcl(cls, function: Mapping[str, Any]) -> Signature:
        parameters = function.get("parameters") or {}
        params: dict[str, Param] = {}
        for key, spec in (parameters.get("properties") or {}).items():
            items = spec.get("items")
            items_type = _BFCL_TYPES.get(str(items.get("type"))) if isinstance(items, dict) else None
            params[key] = Param(_BFCL_TYPES.get(str(spec.get("type", "any")), "string"), items_type)
        return cls(str(function["name"]), params, tuple(parameters.get("required") or ()))


def _json_type(spec: Any) -> ParamType:
    if not isinstance(spec, dict):
        return None
    declared = spec.get("type")
    if isinstance(declared, list):  # ["string", "null"]: the one real type, if there is one
        real = [t for t in declared if t != "null"]
        declared = real[0] if len(real) == 1 else None
    if declared in _JSON_TYPES:
        return str(declared)
    if "properties" in spec:
        return "object"
    return None

"""JSON schemas and validators for tool arguments.

Two sources, one contract (``validate(arguments) -> kwargs`` raising :class:`ToolArgumentsError`
with a message that names the tool, the parameter, what was expected and what was received):

- a Python signature: type hints become a pydantic model (so Optional, Literal, Enum, list, dict,
  nested models and defaults all work), the docstring (Google, NumPy or reST, via docstring-parser)
  supplies the per-parameter descriptions;
- an external JSON schema (MCP, OpenAPI, benchmark suites): validated with ``jsonschema``, the
  reference implementation, because pydantic cannot turn an arbitrary schema into a validator.
"""

from __future__ import annotations

import inspect
import reprlib
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from agentkit.errors import ToolArgumentsError, ToolDefinitionError
from agentkit.run_context import RunContext

Validator = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class FunctionSignature:
    """What agentkit learned from a function: its schema, validator and injected parameter."""

    description: str
    parameters: dict[str, Any]
    validate: Validator
    context_param: str | None


def _is_run_context(annotation: Any) -> bool:
    return annotation is RunContext or typing.get_origin(annotation) is RunContext


def strip_titles(schema: Any) -> Any:
    """Drop pydantic's auto-generated ``title`` keys: they cost tokens and tell the model nothing."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
                out[key] = {name: strip_titles(sub) for name, sub in value.items()}
            else:
                out[key] = strip_titles(value)
        return out
    if isinstance(schema, list):
        return [strip_titles(item) for item in schema]
    return schema


def _bounded_repr() -> reprlib.Repr:
    shown = reprlib.Repr()
    shown.maxlevel, shown.maxstring, shown.maxother, shown.maxlong = 3, 80, 80, 40
    return shown


_SHOWN = _bounded_repr()
"""Values the model sent are shown at most 3 levels deep and about 80 characters long: the model sent
them, it needs a reminder, not a copy (and ``repr`` of arguments nested 10,000 deep would recurse)."""


def _describe(value: Any) -> str:
    try:
        text = _SHOWN.repr(value)
    except Exception:  # noqa: BLE001 - e.g. an integer too long to write: say what it was
        text = "(a value too large to show)"
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _expected_params(parameters: dict[str, Any]) -> str:
    required = set(parameters.get("required", []))
    parts = []
    for name, sub in parameters.get("properties", {}).items():
        if not isinstance(sub, dict):  # a boolean schema: true accepts anything, false nothing
            parts.append(f"{name} ({'any' if sub else 'never valid'})")
            continue
        kind = sub.get("type") or ("enum" if "enum" in sub else "object")
        parts.append(f"{name} ({kind}{', required' if name in required else ''})")
    return ", ".join(parts) or "no parameters"


def format_pydantic_errors(tool_name: str, error: ValidationError, parameters: dict[str, Any]) -> str:
    """One line per problem, written for a model to act on."""
    lines = [f"Invalid arguments for tool '{tool_name}':"]
    for item in error.errors(include_url=False):
        path = _clip(".".join(str(part) for part in item["loc"]), 100) or "(arguments)"
        kind = item["type"]
        if kind == "missing":
            lines.append(f"- parameter '{path}' is required but was not given")
        elif kind == "extra_forbidden":
            lines.append(f"- unexpected parameter '{path}'")
        else:
            lines.append(f"- parameter '{path}': {_clip(item['msg'])}; received {_describe(item['input'])}")
    lines.append(f"Expected parameters: {_expected_params(parameters)}.")
    return "\n".join(lines)


def signature_schema(fn: Callable[..., Any], tool_name: str) -> FunctionSignature:
    """Build the schema and validator of ``fn``'s parameters."""
    import docstring_parser  # small; imported here to keep ``import agentkit`` light

    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ToolDefinitionError(f"tool '{tool_name}': cannot resolve type hints: {exc}") from exc
    doc = docstring_parser.parse(inspect.getdoc(fn) or "")
    param_docs = {p.arg_name: p.description for p in doc.params if p.description}

    fields: dict[str, Any] = {}
    context_param = None
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise ToolDefinitionError(
                f"tool '{tool_name}': *args/**kwargs parameter '{pname}' cannot be described to a "
                "model; give each parameter a name and a type"
            )
        annotation = hints.get(pname, Any)
        if _is_run_context(annotation):
            context_param = pname
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (annotation, Field(default, description=param_docs.get(pname)))

    try:
        model: type[BaseModel] = create_model(
            f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
        parameters = strip_titles(model.model_json_schema())
    except Exception as exc:
        raise ToolDefinitionError(f"tool '{tool_name}': unsupported parameter type: {exc}") from exc
    parameters.setdefault("properties", {})

    def validate(arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            validated = model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(
                format_pydantic_errors(tool_name, exc, parameters), tool_name=tool_name
            ) from None
        except Exception as exc:  # noqa: BLE001 - e.g. a validator of the user's raising something else
            raise unvalidated(tool_name, exc) from None
        return dict(validated.__dict__)  # shallow: nested models stay typed

    description = "\n\n".join(part for part in (doc.short_description, doc.long_description) if part).strip()
    return FunctionSignature(description, parameters, validate, context_param)


def unvalidated(tool_name: str, exc: BaseException) -> ToolArgumentsError:
    """The model-facing error for arguments a validator could not check at all (nested too deep for it,
    a schema that fails on them): the model can still change them or use another tool."""
    return ToolArgumentsError(
        f"Invalid arguments for tool '{tool_name}': they could not be checked "
        f"({type(exc).__name__}: {_clip(str(exc), 200)}). Send simpler arguments or use another tool.",
        tool_name=tool_name,
    )


_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "example"})
"""Keywords whose values are data, not schemas: a ``$ref`` key inside them is no reference."""

_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
"""Keywords whose values map names to schemas (a property may be called ``default`` or ``$ref``)."""


def _unresolvable_refs(parameters: dict[str, Any], specification: Any) -> list[str]:
    """The ``$ref`` / ``$dynamicRef`` values in ``parameters`` that point at nothing it (or a standard
    meta-schema) holds. Schemas are never fetched: a reference elsewhere counts as unresolvable.
    Walked without recursion, so a schema nested thousands deep is checked, not a crash."""
    from jsonschema_specifications import REGISTRY  # type: ignore[import-untyped]
    from referencing.exceptions import Unresolvable

    root = REGISTRY.resolver_with_root(specification.create_resource(parameters))
    stack: list[tuple[Any, Any, bool]] = [(parameters, root, False)]  # (node, resolver, is a name map)
    bad: list[str] = []
    while stack:
        node, resolver, is_map = stack.pop()
        if isinstance(node, list):
            stack.extend((item, resolver, False) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        if is_map:
            stack.extend((sub, resolver, False) for sub in node.values())
            continue
        if node is not parameters and isinstance(specification.id_of(node), str):  # a new base URI
            resolver = resolver.in_subresource(specification.create_resource(node))
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                try:
                    resolver.lookup(value)
                except Unresolvable:
                    bad.append(value)
            elif key not in _DATA_KEYWORDS:
                stack.append((value, resolver, key in _SCHEMA_MAPS))
    return bad


def json_schema_validator(tool_name: str, parameters: dict[str, Any]) -> Validator:
    """A validator for an external JSON schema; defaults of top-level properties are filled in.

    The schema is checked once, here: it must be a valid schema whose every ``$ref`` resolves inside it
    (a server may send one pointing at a definition it left out; validation would fail on every call).
    Nothing is ever fetched over the network, and whatever goes wrong while validating becomes a
    :class:`ToolArgumentsError` for the model.
    """
    import jsonschema
    import referencing
    import referencing.jsonschema

    try:
        validator_cls = jsonschema.validators.validator_for(
            parameters, default=jsonschema.Draft202012Validator
        )
        validator_cls.check_schema(parameters)
        specification = referencing.jsonschema.specification_with(
            validator_cls.META_SCHEMA.get("$id") or validator_cls.META_SCHEMA.get("$schema", ""),
            default=referencing.jsonschema.DRAFT202012,
        )
        missing = _unresolvable_refs(parameters, specification)
    except jsonschema.SchemaError as exc:
        raise ToolDefinitionError(f"tool '{tool_name}': invalid JSON schema: {_clip(exc.message)}") from exc
    except Exception as exc:  # nested too deep to check, a malformed $id, ...
        raise ToolDefinitionError(
            f"tool '{tool_name}': the JSON schema cannot be checked ({type(exc).__name__}: {_clip(str(exc))})"
        ) from exc
    if missing:
        shown = ", ".join(repr(_clip(ref, 100)) for ref in missing[:5])
        raise ToolDefinitionError(
            f"tool '{tool_name}': the JSON schema refers to {shown}, which it does not define "
            "(references must point inside the schema; nothing is fetched)"
        )
    # An empty registry without retrieval: jsonschema's default would fetch unknown references by URL.
    validator = validator_cls(parameters, registry=referencing.Registry())
    defaults = {
        name: sub["default"]
        for name, sub in parameters.get("properties", {}).items()
        if isinstance(sub, dict) and "default" in sub
    }

    def validate(arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            errors = sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.absolute_path)))
        except Exception as exc:  # noqa: BLE001 - too deep for the validator, a reference it cannot follow
            raise unvalidated(tool_name, exc) from None
        if errors:
            lines = [f"Invalid arguments for tool '{tool_name}':"]
            for err in errors[:20]:
                path = _clip(".".join(str(part) for part in err.absolute_path), 100)
                if err.validator == "required" or not path:
                    lines.append(f"- {_clip(err.message)}")
                else:
                    lines.append(f"- parameter '{path}': {_clip(err.message)}")
            lines.append(f"Expected parameters: {_expected_params(parameters)}.")
            raise ToolArgumentsError("\n".join(lines), tool_name=tool_name)
        return {**defaults, **arguments}

    return validate

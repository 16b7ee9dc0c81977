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


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _expected_params(parameters: dict[str, Any]) -> str:
    required = set(parameters.get("required", []))
    parts = []
    for name, sub in parameters.get("properties", {}).items():
        kind = sub.get("type") or ("enum" if "enum" in sub else "object")
        parts.append(f"{name} ({kind}{', required' if name in required else ''})")
    return ", ".join(parts) or "no parameters"


def format_pydantic_errors(tool_name: str, error: ValidationError, parameters: dict[str, Any]) -> str:
    """One line per problem, written for a model to act on."""
    lines = [f"Invalid arguments for tool '{tool_name}':"]
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        kind = item["type"]
        if kind == "missing":
            lines.append(f"- parameter '{path}' is required but was not given")
        elif kind == "extra_forbidden":
            lines.append(f"- unexpected parameter '{path}'")
        else:
            lines.append(f"- parameter '{path}': {item['msg']}; received {_describe(item['input'])}")
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
        return dict(validated.__dict__)  # shallow: nested models stay typed

    description = "\n\n".join(part for part in (doc.short_description, doc.long_description) if part).strip()
    return FunctionSignature(description, parameters, validate, context_param)


def json_schema_validator(tool_name: str, parameters: dict[str, Any]) -> Validator:
    """A validator for an external JSON schema; defaults of top-level properties are filled in."""
    import jsonschema

    try:
        validator_cls = jsonschema.validators.validator_for(
            parameters, default=jsonschema.Draft202012Validator
        )
        validator_cls.check_schema(parameters)
    except jsonschema.SchemaError as exc:
        raise ToolDefinitionError(f"tool '{tool_name}': invalid JSON schema: {exc.message}") from exc
    validator = validator_cls(parameters)
    defaults = {
        name: sub["default"]
        for name, sub in parameters.get("properties", {}).items()
        if isinstance(sub, dict) and "default" in sub
    }

    def validate(arguments: dict[str, Any]) -> dict[str, Any]:
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            lines = [f"Invalid arguments for tool '{tool_name}':"]
            for err in errors:
                path = ".".join(str(part) for part in err.absolute_path)
                if err.validator == "required" or not path:
                    lines.append(f"- {err.message}")
                else:
                    lines.append(f"- parameter '{path}': {err.message}")
            lines.append(f"Expected parameters: {_expected_params(parameters)}.")
            raise ToolArgumentsError("\n".join(lines), tool_name=tool_name)
        return {**defaults, **arguments}

    return validate

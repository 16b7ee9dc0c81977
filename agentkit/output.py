"""Typed final answers: parsing and validating the model's last reply as ``output_type``."""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from agentkit.errors import OutputValidationError
from agentkit.messages import UserMessage
from agentkit.templates import render
from agentkit.tool_schema import strip_titles

T = TypeVar("T")


def _json_candidate(text: str) -> str:
    """The JSON inside a reply: a fenced block if there is one, else from the first brace or bracket.

    Found with ``str.find`` (a lazy regex over unclosed fences would rescan the rest of the reply from
    each one: quadratic in a hostile reply)."""
    opening = text.find("```")
    if opening >= 0:
        closing = text.find("```", opening + 3)
        if closing >= 0:
            body = text[opening + 3 : closing]
            return (body[4:] if body.startswith("json") else body).strip()
    stripped = text.strip()
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    return stripped[min(starts) :] if starts else stripped


MAX_OUTPUT_DEPTH = 100
"""Broken JSON nested deeper is not read leniently: no answer schema nests that far."""


def _read_json(candidate: str) -> Any:
    """``candidate`` decoded strictly, else read leniently (trailing commas, single quotes, unquoted
    keys, unclosed brackets; :func:`agentkit.parsing.read_lenient`, one pass, linear in the text);
    :class:`OutputValidationError` when no JSON value comes out."""
    try:
        return json.loads(candidate)
    except RecursionError:
        raise OutputValidationError(f"the reply nests deeper than {MAX_OUTPUT_DEPTH} levels") from None
    except ValueError:  # JSONDecodeError, and integers too long to convert
        pass
    from agentkit.parsing._lenient import read_lenient  # only broken replies pay for the import

    value = read_lenient(candidate, MAX_OUTPUT_DEPTH)
    if value is None and candidate.strip() not in ("null", "None"):
        raise OutputValidationError(f"the reply nests deeper than {MAX_OUTPUT_DEPTH} levels")
    if isinstance(value, str) and not candidate.lstrip().startswith(('"', "'")):
        raise OutputValidationError("the reply is not valid JSON")  # plain text, not a quoted string
    return value


class OutputSpec(Generic[T]):
    """How to turn final text into ``output_type``; ``str`` passes the text through."""

    def __init__(self, output_type: type[T] | Any) -> None:
        self.output_type = output_type
        self.is_text = output_type is str
        self._adapter: TypeAdapter[T] | None = None if self.is_text else TypeAdapter(output_type)
        self.schema: dict[str, Any] | None = (
            None if self._adapter is None else strip_titles(self._adapter.json_schema())
        )

    def parse(self, text: str | None) -> T:
        """The validated output, or :class:`OutputValidationError` with what the model must fix."""
        if not text or not text.strip():
            raise OutputValidationError("the reply was empty")
        if self._adapter is None:
            return text  # type: ignore[return-value]
        value = _read_json(_json_candidate(text))
        try:
            return self._adapter.validate_python(value)
        except RecursionError:  # a value json.loads could read but a validator recursing into it cannot
            raise OutputValidationError(f"the reply nests deeper than {MAX_OUTPUT_DEPTH} levels") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(value)'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise OutputValidationError(f"it does not match the schema ({problems})") from None


def output_retry_message(error: str, output_schema: dict[str, Any] | None) -> UserMessage:
    """What the model is told after a final answer failed validation (prompts/output_retry.jinja);
    the one place it is built, so the run, a resumed run and a trace's replay agree word for word."""
    return UserMessage(content=render("output_retry.jinja", error=error, output_schema=output_schema))

"""Typed final answers: parsing and validating the model's last reply as ``output_type``."""

from __future__ import annotations

import json
import re
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from agentkit.errors import OutputValidationError
from agentkit.messages import UserMessage
from agentkit.templates import render
from agentkit.tool_schema import strip_titles

T = TypeVar("T")

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _json_candidate(text: str) -> str:
    """The JSON inside a reply: a fenced block if there is one, else from the first brace or bracket."""
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    stripped = text.strip()
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    return stripped[min(starts) :] if starts else stripped


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
        candidate = _json_candidate(text)
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            from json_repair import repair_json

            value = repair_json(candidate, return_objects=True)
            if value in ("", None):
                raise OutputValidationError("the reply is not valid JSON") from None
        try:
            return self._adapter.validate_python(value)
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

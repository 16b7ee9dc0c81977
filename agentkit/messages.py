"""Typed conversation messages, tool calls and token usage.

Messages are pydantic models discriminated by ``role`` so a whole conversation round-trips through
JSON without loss. They know no provider: each backend converts them to its own wire format (the
OpenAI chat dicts live in ``agentkit.backends.openai.convert``, a chat template's in
``agentkit.backends.transformers.prompting``).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def new_call_id() -> str:
    """A fresh tool-call id in the ``call_...`` style OpenAI uses."""
    return f"call_{uuid.uuid4().hex[:24]}"


# Validators are built on first use rather than at import, keeping `import agentkit` fast.
_LAZY = ConfigDict(defer_build=True)


class ToolCall(BaseModel):
    """One call of a tool requested by the model.

    ``arguments_error`` is set when the model's arguments could not be parsed as a JSON object; the
    call is still kept (with ``raw_arguments``) so the error goes back to the model, paired to its id.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str = Field(default_factory=new_call_id)
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None
    arguments_error: str | None = None


class Usage(BaseModel):
    """Token usage, summed over the model calls of a run."""

    model_config = _LAZY

    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            requests=self.requests + other.requests,
        )

    def __sub__(self, other: Usage) -> Usage:
        """What was used since ``other`` was read off the same running total."""
        return Usage(
            input_tokens=self.input_tokens - other.input_tokens,
            output_tokens=self.output_tokens - other.output_tokens,
            requests=self.requests - other.requests,
        )


class SystemMessage(BaseModel):
    model_config = _LAZY
    role: Literal["system"] = "system"
    content: str


class UserMessage(BaseModel):
    model_config = _LAZY
    role: Literal["user"] = "user"
    content: str


class AssistantMessage(BaseModel):
    """A model reply: text, tool calls, or both."""

    model_config = _LAZY

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)


class ToolMessage(BaseModel):
    """The result of one tool call, paired to it by ``tool_call_id``."""

    model_config = _LAZY

    role: Literal["tool"] = "tool"
    tool_call_id: str
    name: str
    content: str
    is_error: bool = False


Message = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")]
"""Any conversation message; pydantic picks the class from ``role``."""


@functools.cache
def _messages_adapter() -> TypeAdapter[list[Message]]:
    return TypeAdapter(list[Message])


def dump_messages(messages: Sequence[Message]) -> str:
    """Serialize a conversation to JSON (lossless; see :func:`load_messages`)."""
    return _messages_adapter().dump_json(list(messages)).decode()


def load_messages(data: str | bytes) -> list[Message]:
    """Parse a conversation written by :func:`dump_messages`."""
    return _messages_adapter().validate_json(data)


def parse_arguments(raw: str | dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """Parse tool-call arguments as the model sent them.

    Returns ``(arguments, error)``: a strict JSON parse first, then a lenient repair (trailing commas,
    single quotes, unclosed brackets); ``error`` says what was wrong when neither yields an object.
    """
    if raw is None or raw == "":
        return {}, None
    if isinstance(raw, dict):
        return raw, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        from json_repair import repair_json  # small, pure Python; only needed for broken input

        try:
            value = repair_json(raw, return_objects=True)
        except Exception:  # noqa: BLE001 - any repair failure means "not JSON"
            value = None
        if not isinstance(value, dict) or (not value and raw.strip() not in ("{}", "")):
            return {}, f"arguments are not valid JSON ({exc.msg} at position {exc.pos}): {raw[:200]!r}"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}: {raw[:200]!r}"
    return value, None

"""Typed conversation messages, tool calls and token usage.

Messages are pydantic models discriminated by ``role`` so a whole conversation round-trips through
JSON without loss. They know no provider: each backend converts them to its own wire format (the
OpenAI chat dicts live in ``agentkit.backends.openai.convert``, a chat template's in
``agentkit.backends.local.prompting``).
"""

from __future__ import annotations

import functools
import json
import reprlib
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


MAX_ARGUMENT_DEPTH = 100
"""Tool-call arguments nested deeper are refused (the model is told): no real tool takes them, and every
JSON encoder on the way (pydantic's stops near 254 levels, ``json`` at the recursion limit) would fail."""

MAX_REPAIR_CHARS = 100_000
"""Broken arguments longer than this are reported, not repaired: a model that sent that much broken
JSON (usually cut off by a token limit) does better to send it again than to have a tool run on a
guess at its end."""


def parse_arguments(raw: object) -> tuple[dict[str, Any], str | None]:
    """Parse tool-call arguments as the model sent them.

    Returns ``(arguments, error)``: a strict JSON parse first, then a lenient reading (trailing commas,
    single quotes, unquoted keys, unclosed brackets and strings); ``error`` says what was wrong when
    neither yields an object.
    Total: any input (nested thousands deep, huge numbers, not a string at all) gives an error to send
    back to the model, never an exception.
    """
    if raw is None or raw == "":
        return {}, None
    if isinstance(raw, dict):
        problem = argument_problem(raw)
        return ({}, problem) if problem else (raw, None)
    if not isinstance(raw, str):
        return {}, f"arguments must be a JSON object, got {type(raw).__name__}: {preview(raw)}"
    try:
        value = json.loads(raw)
    except RecursionError:
        return {}, f"arguments nest deeper than {MAX_ARGUMENT_DEPTH} levels: {raw[:40]!r}"
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        value = _repaired(raw)
        if not isinstance(value, dict) or (not value and raw.strip() not in ("{}", "")):
            where = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)[:120]
            return {}, f"arguments are not valid JSON ({reason}{where}): {raw[:80]!r}"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}: {raw[:80]!r}"
    problem = argument_problem(value)
    return ({}, problem) if problem else (value, None)


def _repaired(raw: str) -> Any:
    """The lenient reading of broken ``raw`` (:func:`agentkit.parsing.read_lenient`: one pass, time
    linear in its length), or ``None`` when it is too long or nested past :data:`MAX_ARGUMENT_DEPTH`."""
    if len(raw) > MAX_REPAIR_CHARS:
        return None
    from agentkit.parsing._lenient import read_lenient  # only broken input pays for the import

    return read_lenient(raw, MAX_ARGUMENT_DEPTH)


def preview(value: object) -> str:
    """A short ``repr`` of anything a model or server sent (bounded in depth and length; never raises)."""
    try:
        return reprlib.repr(value)
    except Exception:  # noqa: BLE001 - e.g. an integer too long to write as text
        return f"<{type(value).__name__}>"


def argument_problem(arguments: dict[str, Any]) -> str | None:
    """What makes ``arguments`` unusable as JSON tool arguments, or ``None`` when they are fine.

    Nesting over :data:`MAX_ARGUMENT_DEPTH`, a key that is not a string, an integer too long to write
    as text, or a value that is not JSON at all (a Python object a scripted backend put there). NaN,
    infinities and lone surrogates are allowed: every consumer writes them (see
    :mod:`agentkit.sessions.journal`).
    """
    return measure_arguments(arguments)[0]


def measure_arguments(arguments: dict[str, Any]) -> tuple[str | None, int]:
    """``(problem, size)``: :func:`argument_problem`'s verdict and about how many characters the
    arguments take as JSON. Flat objects (the usual case) take one pass; anything nested is walked
    without recursion, stopping at the first problem."""
    size = 2
    for key, item in arguments.items():
        kind = type(item)
        if type(key) is not str or kind not in _FLAT or (kind is int and not -_BIG < item < _BIG):
            return _walk(arguments)
        size += len(key) + (len(item) if kind is str else 6) + 4
    return None, size


_FLAT = frozenset({str, int, float, bool, type(None)})
_BIG = 2**63


def _walk(arguments: dict[str, Any]) -> tuple[str | None, int]:
    size = 0
    stack: list[tuple[Any, int]] = [(arguments, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_ARGUMENT_DEPTH:
            return f"arguments nest deeper than {MAX_ARGUMENT_DEPTH} levels", size
        items = value.items() if isinstance(value, dict) else enumerate(value)
        size += 2
        for key, item in items:
            if isinstance(key, str):
                size += len(key) + 4
            elif isinstance(value, dict):
                return f"argument keys must be strings, got {type(key).__name__} {preview(key)}", size
            if isinstance(item, str):
                size += len(item) + 3
            elif isinstance(item, dict | list | tuple):
                stack.append((item, depth + 1))
            elif _is_json_scalar(item):
                size += 6
            else:
                return f"an argument is not a JSON value: {type(item).__name__} {preview(item)}", size
    return None, size


_INT_BITS = 4000 * 3
"""Integers longer than about 3,600 digits are refused: Python will not write them as text (4,300)."""


def _is_json_scalar(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | float):
        return True
    return isinstance(value, int) and value.bit_length() <= _INT_BITS

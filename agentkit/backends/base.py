"""The backend protocol: what the agent loop needs from any model, local or remote.

A backend turns a :class:`ModelRequest` (messages, tool specs, tool choice, output schema,
generation settings) into a :class:`ModelResponse` (one assistant message plus usage), either at once
(``complete``) or as a stream of :class:`TextDelta` chunks ending in a :class:`ModelResponse`
(``stream``). It also counts tokens and knows its context window, which the context manager uses to
keep every request within budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from agentkit.messages import AssistantMessage, Message, Usage, messages_to_openai

ToolChoice = Literal["auto", "none", "required"] | str
"""``auto``, ``none``, ``required``, or the name of the one tool the model must call."""


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Generation settings; ``None`` means the backend's default."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything a backend needs for one model call."""

    messages: Sequence[Message]
    tools: Sequence[dict[str, Any]] = ()
    tool_choice: ToolChoice = "auto"
    output_schema: dict[str, Any] | None = None
    settings: ModelSettings = field(default_factory=ModelSettings)

    def openai_messages(self) -> list[dict[str, Any]]:
        return messages_to_openai(self.messages)


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """One model reply."""

    message: AssistantMessage
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of streamed text."""

    text: str


StreamChunk = TextDelta | ModelResponse
"""A stream yields text deltas and ends with exactly one :class:`ModelResponse`."""


@runtime_checkable
class Backend(Protocol):
    """What the agent loop calls. Implementations: scripted (tests), OpenAI-compatible, transformers."""

    @property
    def name(self) -> str: ...

    @property
    def context_window(self) -> int:
        """Maximum tokens of prompt plus reply the model accepts."""
        ...

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamChunk]: ...

    def count_tokens(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> int:
        """Tokens the prompt for ``messages`` (and tool schemas) would take."""
        ...

    async def aclose(self) -> None:
        """Release connections, caches or models."""
        ...


def estimate_tokens(messages: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> int:
    """A rough count (4 characters a token, 4 tokens of overhead a message) for backends that have no
    tokenizer; it errs high so budgets built on it stay safe."""
    import json

    chars = sum(len(json.dumps(m)) for m in messages_to_openai(messages))
    chars += sum(len(json.dumps(t)) for t in tools)
    return chars // 4 + 4 * len(messages) + 1


class BaseBackend:
    """Defaults for backends: streaming by completing at once, and an estimated token count."""

    context_window: int = 8192

    @property
    def name(self) -> str:
        return type(self).__name__

    async def complete(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamChunk]:
        response = await self.complete(request)
        if response.message.content:
            yield TextDelta(response.message.content)
        yield response

    def count_tokens(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> int:
        return estimate_tokens(messages, tools)

    async def aclose(self) -> None:
        return None

"""The backend contract: everything the agent loop, the context window and the tracers use of a model.

A backend turns a :class:`ModelRequest` (messages, tool specs, tool choice, output schema, generation
settings) into a :class:`ModelResponse` (one assistant message plus usage), either at once
(``complete``) or as a stream of :class:`TextDelta` chunks ending in a :class:`ModelResponse`
(``stream``). It also says who it is (``name``, ``provider``, ``model``), how big its window is,
how to count its tokens (``count_tokens`` and the ``token_counter`` it chooses), how to get ready
(``aload``) and how to let go (``aclose``). The core uses nothing else, and never probes a backend
for optional members: :class:`BaseBackend` gives every member a default.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from agentkit.backends.counting import BackendCounter, EstimateCounter, TokenCounter, count_prompt
from agentkit.messages import AssistantMessage, Message, Usage
from agentkit.tool_spec import ToolSpec

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
    tools: Sequence[ToolSpec] = ()
    tool_choice: ToolChoice = "auto"
    output_schema: dict[str, Any] | None = None
    settings: ModelSettings = field(default_factory=ModelSettings)


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
    """What the core calls. Implementations: scripted (tests), OpenAI-compatible, transformers."""

    @property
    def name(self) -> str:
        """How people and errors name this backend (``openai:gpt-4o-mini``, ``local``)."""
        ...

    @property
    def provider(self) -> str:
        """Who serves the model (``openai``, ``transformers``, ``scripted``): ``gen_ai.provider.name``."""
        ...

    @property
    def model(self) -> str:
        """The model's own id, as traces report it (``gpt-4o-mini``, a GGUF path, ...)."""
        ...

    @property
    def context_window(self) -> int:
        """Maximum tokens of prompt plus reply the model accepts."""
        ...

    async def aload(self) -> None:
        """Get ready before a run (a local model loads its weights here, off the event loop)."""
        ...

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamChunk]: ...

    def count_tokens(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        """Tokens the prompt for ``messages`` (and tool specs) would take."""
        ...

    def token_counter(self) -> TokenCounter:
        """The counter the context window measures this backend's requests with; the same object on
        every call, so its caches and calibration last across runs."""
        ...

    async def aclose(self) -> None:
        """Release connections, caches or models."""
        ...


class BaseBackend:
    """Defaults for every member but ``complete``: streaming by completing at once, an estimated token
    count, no loading, nothing to close. Subclasses override what they know better."""

    context_window: int = 8192
    _token_counter: TokenCounter | None = None

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def provider(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def model(self) -> str:
        return self.name

    async def aload(self) -> None:
        return None

    async def complete(self, request: ModelRequest) -> ModelResponse:
        raise NotImplementedError

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamChunk]:
        response = await self.complete(request)
        if response.message.content:
            yield TextDelta(response.message.content)
        yield response

    def token_counter(self) -> TokenCounter:
        if self._token_counter is None:
            self._token_counter = self.make_token_counter()
        return self._token_counter

    def make_token_counter(self) -> TokenCounter:
        """The counter :meth:`token_counter` keeps (built once): a subclass with its own
        ``count_tokens`` (a tokenizer) is counted with it, message by message; others are estimated."""
        if type(self).count_tokens is not BaseBackend.count_tokens:
            return BackendCounter(self)
        return EstimateCounter()

    def count_tokens(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        return count_prompt(self.token_counter(), messages, tools)

    async def aclose(self) -> None:
        return None

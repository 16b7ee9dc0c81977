"""``InProcessBackend``: everything an in-process engine does that does not depend on the engine.

One request: render the conversation with the model's chat template (:mod:`.prompting`), choose what
the reply may be (the tool-choice policy and the decision step of :mod:`.deciding`, the grammar of
:mod:`.constraints`), let the engine decode (reusing its KV cache up to the common prefix with the
previous request), then parse the calls out of the text. An engine (transformers, llama.cpp) supplies
only loading, its chat template and tokenizer, the decode loop and the next token's log-probabilities
after a prompt, so both engines prompt, constrain, decide, stream, count and cancel the same way.
Loading and decoding run on a worker thread, never on the event loop; one request at a time uses the
model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from agentkit.backends.base import BaseBackend, ModelRequest, ModelResponse, StreamChunk, TextDelta
from agentkit.backends.counting import BackendCounter, TokenCounter
from agentkit.backends.local.constraints import CALL_OPEN, GrammarCache, tool_names
from agentkit.backends.local.deciding import DecisionPath
from agentkit.backends.local.decision import DEFAULT_CALL_THRESHOLD
from agentkit.backends.local.feedback import load_feedback
from agentkit.backends.local.jobs import Decoded, DecodeJob, Sampling
from agentkit.backends.local.prompting import ChatTemplate, PromptRenderer
from agentkit.backends.local.stats import CacheStats
from agentkit.errors import BackendError, ConfigurationError
from agentkit.messages import AssistantMessage, Message, Usage
from agentkit.tool_spec import ToolSpec

DEFAULT_MAX_TOKENS = 512
DEFAULT_CONTEXT_WINDOW = 2048
"""Used only when neither the model nor the caller says."""
EMBEDDED_MODEL_OPTIONS: dict[str, Any] = {
    "decide_calls": True,
    "parallel_calls": True,
    "values_from_request": True,
    "count_from_request": True,
    "advance_on_repeat": True,
    "distinct_values": True,
}
"""Defaults for ``local`` (SmolLM2-135M) on every engine: the model decides whether to call, how many
calls, with values from the request (see :class:`InProcessBackend`). Measured on BFCL
(benchmarks/README.md, "The local model deciding"), this beats forcing one call
(``call_then_answer=True, parallel_calls=False``, still available as options)."""


class InProcessOptions(TypedDict, total=False):
    """The options every in-process engine takes, documented on :class:`InProcessBackend` (an engine's
    constructor passes them through as ``**options``)."""

    constrained: bool
    reuse_cache: bool
    native_tools: bool | None
    call_then_answer: bool
    decide_calls: bool
    call_threshold: float
    parallel_calls: bool
    max_calls: int | None
    stop_threshold: float
    advance_on_repeat: bool
    distinct_values: bool
    count_from_request: bool
    values_from_request: bool
    max_tokens: int
    context_window: int | None


@dataclass(frozen=True, slots=True)
class EngineReady:
    """What an engine hands over once its model is loaded."""

    chat: ChatTemplate
    stop_ids: frozenset[int]


def find_stop(text: str, stops: Sequence[str], start: int) -> int:
    """Where the first stop string in ``text`` begins (searching from ``start``), or -1."""
    hits = [i for i in (text.find(s, start) for s in stops) if i >= 0]
    return min(hits) if hits else -1


def visible_prefix(text: str, markers: Sequence[str]) -> int:
    """How much of a partial reply can be streamed: everything before a call opener or stop string,
    minus a tail that might still turn into one, minus an incomplete UTF-8 character."""
    end = len(text)
    for marker in markers:
        at = text.find(marker)
        if at >= 0:
            end = min(end, at)
    held = 0
    for marker in markers:
        for k in range(min(len(marker) - 1, end), 0, -1):
            if text[:end].endswith(marker[:k]):
                held = max(held, k)
                break
    end -= held
    while end > 0 and text[end - 1] == "\ufffd":
        end -= 1
    return end


class InProcessBackend(DecisionPath, BaseBackend):
    """The engine-neutral part of a local model in this process (subclass it for an engine). Every
    engine takes these options (an engine's own are documented on its class).

    Args:
        constrained: decode tool calls and structured output under a grammar (on by default).
        reuse_cache: keep the KV cache between requests and prefill only the new tokens.
        native_tools: force (or forbid) passing ``tools=`` to the chat template; default: detected.
        call_then_answer: with ``tool_choice="auto"``, the first reply after a user message must be a
            tool call and the reply after successful results must be the answer (after a failed call,
            another call): the forced path. Tiny models almost never start a call on their own
            (SmolLM2-135M puts about 0.01% on it) and, once they have, repeat calls forever. Needs
            ``constrained``; wins over ``decide_calls``.
        decide_calls: with ``tool_choice="auto"``, the first reply after a user message is a call or an
            answer as :mod:`~agentkit.backends.local.decision` decides (the request shares a word with
            a tool, and the model's first-token log-odds of a call exceed ``call_threshold``); after
            successful results the reply answers, after a failed call it calls again. ``local`` turns
            this on. Needs ``constrained``.
        call_threshold: the first-token log-odds above which ``decide_calls`` lets a call through.
        parallel_calls: admit several calls in one reply.
        max_calls: at most this many calls in one reply (``None``: no bound); ignored without
            ``parallel_calls``. When a reply must call and may hold several calls, they are decoded
            one at a time (:mod:`~agentkit.backends.local.call_loop`): a repeated call ends the reply,
            and another call follows only while the model's log-odds of ending the reply stay at most
            ``stop_threshold``.
        stop_threshold: see ``max_calls``.
        advance_on_repeat: with ``values_from_request``, when the request asks for several calls
            (:mod:`~agentkit.backends.local.several`), a call that repeats an earlier one is decoded
            again under a grammar that makes it move forward through the request: every number
            argument takes a number written after those the reply's calls used when there are
            enough of them (``"gcd of 36 and 48, and of 60 and 96"``), or else one argument takes a
            later number or span; the reply ends as before when there is nothing further.
        distinct_values: with ``values_from_request``, a call where two arguments took one value
            the request writes once (``loan_amount=400000, interest_rate=400000``) is decoded again
            with that value barred from one of them, the model choosing which; ``local`` turns this
            on.
        count_from_request: with ``values_from_request``, another call follows only when the
            request's words ask for more than the calls made (cue words such as "respectively" or
            "also", an enumeration that goes on past the values used, enough unused numbers for one
            more call: :mod:`~agentkit.backends.local.several`); ``local`` turns this on.
        values_from_request: a string argument whose schema does not pin its form (no enum, const,
            pattern or format) must be a span of the last user message or of a tool result since
            (:mod:`~agentkit.backends.local.request_values`), and an array of numbers holds at most as
            many items as those write numbers; ``local`` turns this on.
        max_tokens: reply length when the request's settings do not say.
        context_window: override the model's own context length.
    """

    def __init__(
        self,
        *,
        name: str,
        constrained: bool = True,
        reuse_cache: bool = True,
        native_tools: bool | None = None,
        call_then_answer: bool = False,
        decide_calls: bool = False,
        call_threshold: float = DEFAULT_CALL_THRESHOLD,
        parallel_calls: bool = True,
        max_calls: int | None = None,
        stop_threshold: float = 0.0,
        advance_on_repeat: bool = False,
        distinct_values: bool = False,
        count_from_request: bool = False,
        values_from_request: bool = False,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        context_window: int | None = None,
    ) -> None:
        if context_window is not None and context_window < 2:
            raise ConfigurationError(f"context_window must be at least 2 tokens, got {context_window}")
        if max_calls is not None and max_calls < 1:
            raise ConfigurationError(f"max_calls must be >= 1 or None, got {max_calls}")
        self.constrained = constrained
        self.reuse_cache = reuse_cache
        self.call_then_answer = call_then_answer
        self.decide_calls = decide_calls
        self.call_threshold = call_threshold
        self.parallel_calls = parallel_calls
        self.max_calls = max_calls
        self.stop_threshold = stop_threshold
        self.advance_on_repeat = advance_on_repeat
        self.distinct_values = distinct_values
        self.count_from_request = count_from_request
        self.values_from_request = values_from_request
        self.max_tokens = max_tokens
        self.stats = CacheStats()
        self.last_ids: list[int] = []
        """Token ids generated by the last request (for tests and debugging)."""
        self.last_decision: dict[str, Any] | None = None
        """How the decision step chose the last request's first reply (``None`` when it did not run)."""
        self.last_calls: dict[str, Any] | None = None
        """How the last call-by-call reply ended (log-odds of stopping after each call, a dropped repeat)."""
        self._name = name
        self._native_tools = native_tools
        self._context_window = context_window
        self._renderer: PromptRenderer | None = None
        self._grammars: GrammarCache | None = None
        self._call_format: str | None = None
        self._stop_ids: frozenset[int] = frozenset()
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    # -- what an engine supplies ---------------------------------------------------------------------

    def _load_engine(self, progress: Any) -> EngineReady:
        """Load the model (blocking; ``progress`` is a :class:`~.feedback.LoadProgress`)."""
        raise NotImplementedError

    def _load_label(self) -> str:
        """What the load feedback calls the model."""
        return self.model

    def _read_context_window(self) -> int | None:
        """The model's context length, from its files if possible (without loading the weights)."""
        raise NotImplementedError

    def _ll_tokenizer(self) -> Any:
        """An llguidance tokenizer for the loaded model (built once per grammar cache)."""
        raise NotImplementedError

    def _decode(self, prompt: list[int], job: DecodeJob) -> Decoded:
        """Run ``prompt`` (reusing the cache where it matches) and decode; called under the run lock."""
        raise NotImplementedError

    def _prefill_logprobs(self, prompt: list[int]) -> tuple[Any, int]:
        """Run ``prompt`` (reusing the cache where it matches, and keeping it) without decoding;
        ``(log-probabilities of the next token as a numpy vector, prompt tokens reused)``. Called under
        the run lock (the decision step, and between the calls of a call-by-call reply)."""
        raise NotImplementedError

    def _vocab_size(self) -> int:
        """Rows of the model's logits (the grammar's token masks are cut or padded to it)."""
        raise NotImplementedError

    def _drop_cache(self) -> None:
        """Forget the KV cache (after a failed request, and on close)."""

    # -- loading -------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def is_loaded(self) -> bool:
        return self._renderer is not None

    def ensure_loaded(self) -> PromptRenderer:
        """Load now (blocking) if needed; the renderer for this model's chat template."""
        with self._load_lock:
            if self._renderer is None:
                from agentkit.parsing import detect_format

                with load_feedback(self._load_label()) as progress:
                    ready = self._load_engine(progress)
                renderer = PromptRenderer(ready.chat, native=self._native_tools)
                # Without native tool support we prompt for Hermes calls ourselves.
                self._call_format = detect_format(renderer.template) if renderer.native else "hermes"
                if not ready.stop_ids:
                    raise BackendError(
                        f"{self.name} defines no end-of-sequence token; cannot tell when a reply ends"
                    )
                self._stop_ids = ready.stop_ids
                self._renderer = renderer
            return self._renderer

    async def aload(self) -> None:
        """Load on a worker thread (the first request does this itself)."""
        if self._renderer is None:
            await asyncio.to_thread(self.ensure_loaded)

    def make_token_counter(self) -> TokenCounter:
        """Exact counts from the model's own tokenizer and chat template, one message at a time."""
        return BackendCounter(self)

    @property  # BaseBackend has a plain attribute; here it comes from the model's files
    def context_window(self) -> int:  # type: ignore[override]
        """From the model's files without loading the weights where possible."""
        if self._context_window is None:
            self._context_window = self._read_context_window() or DEFAULT_CONTEXT_WINDOW
        return self._context_window

    def _grammar_cache(self) -> GrammarCache:
        if self._grammars is None:
            self.ensure_loaded()
            self._grammars = GrammarCache(self._ll_tokenizer())
        return self._grammars

    # -- requests ------------------------------------------------------------------------------------

    def count_tokens(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        """Exact: the prompt this backend would send, through the model's tokenizer and template."""
        return len(self.ensure_loaded().encode(messages, tools))

    def prompt_ids(self, request: ModelRequest) -> list[int]:
        return list(self.ensure_loaded().encode(request.messages, request.tools))

    def _markers(self, request: ModelRequest) -> list[str]:
        markers = list(request.settings.stop)
        if request.tools and self.tool_choice(request) != "none":  # "decide" may still call
            markers.append(CALL_OPEN.strip())
        return markers

    def generate_sync(
        self,
        request: ModelRequest,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ModelResponse:
        """One request, blocking (``complete``/``stream`` run this on a worker thread): the decision
        step where it applies, then the reply (several calls decoded one at a time where they may)."""
        settings = request.settings
        prompt = self.prompt_ids(request)
        window = self.context_window
        if len(prompt) >= window:
            raise BackendError(
                f"the prompt has {len(prompt)} tokens but {self.name} accepts {window}; "
                "shorten the conversation"
            )
        self.last_calls = None
        choice = self.decide(request)
        grammar = self._grammar(request, choice)
        job = DecodeJob(
            max_new_tokens=min(settings.max_tokens or self.max_tokens, window - len(prompt)),
            sampling=Sampling(settings.temperature, settings.top_k, settings.top_p, settings.seed),
            stop_ids=self._stop_ids,
            stop_strings=settings.stop,
            on_text=on_text,
            cancel=cancel,
        )
        if grammar is not None and self._call_by_call(choice):
            out = self._decode_calls(request, choice, prompt, job)
        else:
            matcher = self._grammar_cache().matcher(grammar) if grammar is not None else None
            out = self._run(prompt, replace(job, matcher=matcher), first=True)
        self.last_ids = list(out.ids)
        return self._response(request, choice, grammar is not None, out, len(prompt))

    def _run(self, prompt: list[int], job: DecodeJob, *, first: bool) -> Decoded:
        """:meth:`_decode` under the run lock, counted in ``stats``. ``first``: this is the request's
        prompt (counted as a request), not a continuation of its reply."""
        with self._run_lock:
            try:
                out = self._decode(prompt, job)
            except Exception:
                self._drop_cache()
                raise
            if first:
                self.stats.record(
                    prefilled=len(prompt) - out.reused, reused=out.reused, generated=len(out.ids)
                )
            else:
                self.stats.record_prefill(len(prompt) - out.reused, out.reused)
                self.stats.tokens_generated += len(out.ids)
        return out

    def _next_logprobs(self, prompt: list[int]) -> Any:
        """The next token's log-probabilities after ``prompt`` (numpy), under the run lock, reusing and
        keeping the cache, counted in ``stats`` as prefill."""
        with self._run_lock:
            try:
                logprobs, reused = self._prefill_logprobs(prompt)
            except Exception:
                self._drop_cache()
                raise
            self.stats.record_prefill(len(prompt) - reused, reused)
        return logprobs

    def _response(
        self, request: ModelRequest, choice: str, constrained: bool, out: Decoded, prompt_tokens: int
    ) -> ModelResponse:
        from agentkit.parsing import parse_tool_calls

        calls = []
        content: str | None = out.text.strip() or None
        if request.tools and choice != "none":
            formats = [self._call_format] if self._call_format and constrained else None
            parsed = parse_tool_calls(out.text, formats=formats, tool_names=tool_names(request.tools))
            content, calls = parsed.content, parsed.tool_calls
            if out.finish_reason == "length" and len(calls) > 1 and calls[-1].arguments_error is not None:
                # The token limit cut a further call in half; the complete ones before it stand.
                calls = calls[:-1]
        finish = "tool_calls" if calls else out.finish_reason
        return ModelResponse(
            message=AssistantMessage(content=content, tool_calls=calls),
            usage=Usage(input_tokens=prompt_tokens, output_tokens=len(out.ids), requests=1),
            finish_reason=finish,
            model=self.name,
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        await self.aload()
        cancel = threading.Event()
        try:
            return await asyncio.to_thread(self.generate_sync, request, None, cancel)
        except asyncio.CancelledError:
            cancel.set()  # a cancelled run must not leave the model decoding on its worker thread
            raise

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamChunk]:
        """Text deltas as tokens are decoded (tool-call markup is not streamed), then the response."""
        await self.aload()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[TextDelta | None] = asyncio.Queue()
        cancel = threading.Event()
        markers = self._markers(request)
        sent = 0

        def on_text(text: str) -> None:
            nonlocal sent
            end = visible_prefix(text, markers)
            if end > sent:
                piece, sent = text[sent:end], end
                loop.call_soon_threadsafe(queue.put_nowait, TextDelta(piece))

        task = asyncio.ensure_future(asyncio.to_thread(self.generate_sync, request, on_text, cancel))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (item := await queue.get()) is not None:
                yield item
            yield await task
        finally:
            cancel.set()  # the consumer stopped early: end the decode loop at the next token

    def close_sync(self) -> None:
        """Let go of the cache (an engine may free more); waits for a request in flight."""
        with self._run_lock:
            self._drop_cache()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close_sync)

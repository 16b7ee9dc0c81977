"""``TransformersBackend``: a Hugging Face model in-process, with tool calls that parse.

One request: render the conversation with the chat template, reuse the KV cache of the previous
request up to the common token prefix, decode under a grammar (a registered tool's call with valid
arguments, or an answer), then parse the calls out of the text. Loading and decoding run on a worker
thread, never on the event loop; one request at a time uses the model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.backends.base import BaseBackend, ModelRequest, ModelResponse, StreamChunk, TextDelta
from agentkit.backends.counting import BackendCounter, TokenCounter
from agentkit.backends.transformers.constraints import (
    CALL_OPEN,
    GrammarCache,
    build_grammar,
    ll_tokenizer,
    tool_names,
)
from agentkit.backends.transformers.decision import DEFAULT_CALL_THRESHOLD
from agentkit.backends.transformers.kv_cache import CacheStats, PrefixCache
from agentkit.backends.transformers.loading import LoadedModel, ModelSource, load
from agentkit.errors import BackendError, ConfigurationError
from agentkit.messages import AssistantMessage, Message, ToolMessage, Usage, UserMessage
from agentkit.tool_spec import ToolSpec

DEFAULT_MAX_TOKENS = 512

_models: dict[tuple[Any, ...], LoadedModel] = {}
_models_lock = threading.Lock()


def _shared_model(key: tuple[Any, ...], **kwargs: Any) -> LoadedModel:
    """One loaded copy per (source, device, dtype) in a process: several agents on ``local`` share it."""
    with _models_lock:
        loaded = _models.get(key)
        if loaded is None:
            loaded = _models[key] = load(**kwargs)
        return loaded


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


@dataclass(frozen=True, slots=True)
class _Job:
    """How one request decodes, whatever the grammar."""

    sampling: Any
    stop: tuple[str, ...]
    on_text: Any
    cancel: threading.Event | None


def _last_user_text(messages: Sequence[Message]) -> str:
    """The last user message's text: what the request is about."""
    for message in reversed(messages):
        if isinstance(message, UserMessage):
            return message.content
    return ""


def _content_free(request: ModelRequest) -> ModelRequest:
    """The request with its last user message replaced by a content-free one (the decision step's
    reference point)."""
    from agentkit.backends.transformers.decision import CONTENT_FREE

    messages = list(request.messages)
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], UserMessage):
            messages[index] = UserMessage(content=CONTENT_FREE)
            break
    return ModelRequest(
        messages=messages,
        tools=request.tools,
        tool_choice=request.tool_choice,
        output_schema=request.output_schema,
        settings=request.settings,
    )


def _value_source(messages: Sequence[Message]) -> str:
    """Where argument values may come from: the last user message and the tool results since."""
    parts: list[str] = []
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            parts.append(message.content)
        elif isinstance(message, UserMessage):
            parts.append(message.content)
            break
    return "\n".join(reversed(parts))


class TransformersBackend(BaseBackend):
    """A local transformers model (hub id or directory, GGUF file, or the embedded SmolLM2).

    Args:
        source: what to load (see :mod:`agentkit.backends.transformers.loading`).
        device, dtype: default: CUDA/MPS when present (bf16/fp16), else CPU in float32.
        threads: torch CPU threads (default: ``$AGENTKIT_TORCH_THREADS`` or half the cores, at most 8).
        constrained: decode tool calls and structured output under a grammar (on by default).
        reuse_cache: keep the KV cache between requests and prefill only the new tokens.
        gguf_cache: save a dequantized GGUF as safetensors once and load that afterwards.
        native_tools: force (or forbid) passing ``tools=`` to the chat template; default: detected.
        call_then_answer: with ``tool_choice="auto"``, the first reply after a user message must be a
            tool call and the reply after successful results must be the answer (after a failed call,
            another call). Tiny models almost never start a call on their own (SmolLM2-135M puts about
            0.01% on it) and, once they have, repeat calls forever; ``local`` turns this on. Needs
            ``constrained``.
        decide_calls: with ``tool_choice="auto"``, the first reply after a user message is a call or an
            answer as :mod:`~agentkit.backends.transformers.decision` decides (the request shares a word
            with a tool, and the model's first-token log-odds of a call exceed ``call_threshold``); after
            successful results the reply answers, after a failed call it calls again. ``local`` turns
            this on. Needs ``constrained``; ``call_then_answer`` wins when both are on.
        call_threshold: the first-token log-odds above which ``decide_calls`` lets a call through.
        parallel_calls: admit several calls in one reply.
        max_calls: at most this many calls in one reply (``None``: no bound); ignored without
            ``parallel_calls``. When a reply must call and may hold several calls, they are decoded
            one at a time (:mod:`~agentkit.backends.transformers.call_loop`): a repeated call ends
            the reply, and another call follows only while the model's log-odds of ending the
            reply stay at most ``stop_threshold``.
        advance_on_repeat: with ``values_from_request``, a call that repeats an earlier one is decoded
            again under a grammar that makes it take a number the request writes after those the
            reply's calls used (``"gcd of 36 and 48, and of 36 and 60"``); the reply ends as before
            when the request writes no further number.
        values_from_request: a string argument whose schema does not pin its form (no enum, const,
            pattern or format) must be a span of the last user message or of a tool result since
            (:mod:`~agentkit.backends.transformers.request_values`), and an array of numbers holds
            at most as many items as those write numbers; ``local`` turns this on.
        max_tokens: reply length when the request's settings do not say.
        context_window: override the model config's context length.
    """

    def __init__(
        self,
        source: ModelSource,
        *,
        device: str | None = None,
        dtype: str | None = None,
        threads: int | None = None,
        constrained: bool = True,
        reuse_cache: bool = True,
        gguf_cache: bool = True,
        native_tools: bool | None = None,
        call_then_answer: bool = False,
        decide_calls: bool = False,
        call_threshold: float = DEFAULT_CALL_THRESHOLD,
        parallel_calls: bool = True,
        max_calls: int | None = None,
        stop_threshold: float = 0.0,
        advance_on_repeat: bool = False,
        values_from_request: bool = False,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        context_window: int | None = None,
        name: str | None = None,
    ) -> None:
        if threads is not None and threads < 1:
            raise ConfigurationError(f"threads must be >= 1, got {threads}")
        if max_calls is not None and max_calls < 1:
            raise ConfigurationError(f"max_calls must be >= 1 or None, got {max_calls}")
        self.source = source
        self.constrained = constrained
        self.call_then_answer = call_then_answer
        self.decide_calls = decide_calls
        self.call_threshold = call_threshold
        self.parallel_calls = parallel_calls
        self.max_calls = max_calls
        self.stop_threshold = stop_threshold
        self.advance_on_repeat = advance_on_repeat
        self.last_calls: dict[str, Any] | None = None
        """How the last call-by-call reply ended (log-odds of stopping after each call, a dropped repeat)."""
        self.values_from_request = values_from_request
        self.last_decision: dict[str, Any] | None = None
        """How the decision step chose the last request's first reply (``None`` when it did not run)."""
        self.max_tokens = max_tokens
        self.stats = CacheStats()
        self.last_ids: list[int] = []
        """Token ids generated by the last request (for tests and debugging)."""
        self._name = name or f"transformers:{source.label}"
        self._load_args: dict[str, Any] = {
            "device": device,
            "dtype": dtype,
            "threads": threads,
            "use_gguf_cache": gguf_cache,
        }
        self._native_tools = native_tools
        self._context_window = context_window
        self._prefix = PrefixCache(enabled=reuse_cache)
        self._loaded: LoadedModel | None = None
        self._renderer: Any = None
        self._grammars: GrammarCache | None = None
        self._call_format: str | None = None
        self._stop_ids: set[int] = set()
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    # -- loading -------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def loaded(self) -> LoadedModel:
        """The model, loading it now (blocking) if needed."""
        with self._load_lock:
            if self._loaded is None:
                from agentkit.backends.transformers.prompting import PromptRenderer
                from agentkit.parsing import detect_format

                args = self._load_args
                key = (self.source, args["device"], args["dtype"], args["use_gguf_cache"])
                loaded = _shared_model(key, source=self.source, **args)
                self._renderer = PromptRenderer(loaded.tokenizer, native=self._native_tools)
                # Without native tool support we prompt for Hermes calls ourselves.
                self._call_format = (
                    detect_format(self._renderer.template) if self._renderer.native else "hermes"
                )
                self._stop_ids = self._find_stop_ids(loaded)
                self._loaded = loaded
            return self._loaded

    async def aload(self) -> None:
        """Load on a worker thread (the first request does this itself)."""
        if self._loaded is None:
            await asyncio.to_thread(lambda: self.loaded)

    @property
    def provider(self) -> str:
        return "transformers"

    @property
    def model(self) -> str:
        """The hub id or directory the weights come from, or the GGUF file's name."""
        if self.source.kind == "gguf":
            return self.source.location.replace("\\", "/").rsplit("/", 1)[-1]
        return self.source.location

    def make_token_counter(self) -> TokenCounter:
        """Exact counts from the model's own tokenizer and chat template, one message at a time."""
        return BackendCounter(self)

    @staticmethod
    def _find_stop_ids(loaded: LoadedModel) -> set[int]:
        ids: set[int] = set()
        eos = getattr(loaded.model.generation_config, "eos_token_id", None)
        for value in eos if isinstance(eos, list) else [eos]:
            if isinstance(value, int):
                ids.add(value)
        if loaded.tokenizer.eos_token_id is not None:
            ids.add(int(loaded.tokenizer.eos_token_id))
        if not ids:
            raise BackendError("the model defines no end-of-sequence token; cannot tell when a reply ends")
        return ids

    @property  # BaseBackend has a plain attribute; here it comes from the model's config
    def context_window(self) -> int:  # type: ignore[override]
        """From config.json or the GGUF header, without loading the weights (a hub id is the
        exception: its config comes with the model)."""
        if self._context_window is None:
            self._context_window = self._read_context_window() or 2048
        return self._context_window

    def _read_context_window(self) -> int | None:
        from agentkit.backends.transformers.loading import gguf_cache_dir
        from agentkit.backends.transformers.metadata import (
            CONTEXT_LENGTH_KEYS,
            config_context_length,
            gguf_context_length,
        )

        if self._loaded is None:
            location = Path(self.source.location).expanduser()
            if self.source.kind == "gguf":
                cached = gguf_cache_dir(location)
                return config_context_length(cached) or gguf_context_length(location)
            if location.is_dir():
                return config_context_length(location)
        config = self.loaded.model.config
        for attribute in CONTEXT_LENGTH_KEYS:
            value = getattr(config, attribute, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def _grammar_cache(self) -> GrammarCache:
        if self._grammars is None:
            loaded = self.loaded
            eos = loaded.tokenizer.eos_token_id
            self._grammars = GrammarCache(
                ll_tokenizer(loaded.tokenizer, int(eos if eos is not None else min(self._stop_ids)))
            )
        return self._grammars

    # -- requests ------------------------------------------------------------------------------------

    def count_tokens(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        """Exact: the prompt this backend would send, through the model's tokenizer and template."""
        self.loaded  # noqa: B018 - ensure the renderer exists
        return len(self._renderer.encode(messages, tools))

    def prompt_ids(self, request: ModelRequest) -> list[int]:
        self.loaded  # noqa: B018
        return list(self._renderer.encode(request.messages, request.tools))

    def tool_choice(self, request: ModelRequest) -> str:
        """The request's tool choice, adjusted where ``call_then_answer`` or ``decide_calls`` applies:
        ``"decide"`` means the decision step chooses (see :meth:`decide`)."""
        policy = self.call_then_answer or self.decide_calls
        if not (policy and self.constrained and request.tools and request.tool_choice == "auto"):
            return request.tool_choice
        failed = False
        for message in reversed(request.messages):
            if isinstance(message, ToolMessage):
                failed = failed or message.is_error
            elif isinstance(message, AssistantMessage) and message.tool_calls:
                return "required" if failed else "none"
            elif isinstance(message, UserMessage):
                return "required" if self.call_then_answer else "decide"
        return "auto"

    def decide(self, request: ModelRequest) -> str:
        """The tool choice this request's reply is decoded under, running the decision step when
        :meth:`tool_choice` says ``"decide"`` (its record is kept in ``last_decision``)."""
        from agentkit.backends.transformers import decision

        choice = self.tool_choice(request)
        self.last_decision = None
        if choice != "decide":
            return choice
        question = _last_user_text(request.messages)
        log_odds = None
        if decision.needs_model(question, request.tools):
            self.loaded  # noqa: B018 - the call syntax is known once the model is
            if self._grammar(request, "required") is None:
                return "auto"  # no grammar for this model's call syntax: nothing to decide with
            log_odds = self._call_log_odds(request)
        made = decision.decide(question, request.tools, log_odds, self.call_threshold)
        self.last_decision = made.to_json()
        return made.choice

    def _call_log_odds(self, request: ModelRequest) -> float:
        """The first token's log-odds of a call against an answer, under the reply grammar, minus the
        same for a content-free request (the conversation with the last user message replaced by
        :data:`~agentkit.backends.transformers.decision.CONTENT_FREE`): what the request itself adds,
        whatever the system prompt and tools push towards. The request's prompt is run last and its
        cache kept, so decoding the reply afterwards prefills one token."""
        from agentkit.backends.transformers.constraints import start_tokens

        grammars = self._grammar_cache()
        masks = []
        for choice in ("required", "none"):
            grammar = build_grammar(request.tools, tool_choice=choice, output_schema=request.output_schema)
            masks.append(start_tokens(grammars.matcher(grammar or ""), self._vocab_size()))
        reference = self._first_token_log_odds(_content_free(request), *masks)
        return self._first_token_log_odds(request, *masks) - reference

    def _first_token_log_odds(self, request: ModelRequest, call_mask: Any, answer_mask: Any) -> float:
        from agentkit.backends.transformers import decision

        logprobs = self._next_logprobs(self.prompt_ids(request))
        return decision.call_log_odds(logprobs, call_mask, answer_mask)

    def _next_logprobs(self, prompt: list[int]) -> Any:
        """The next token's log-probabilities after ``prompt`` (numpy), reusing and keeping the cache."""
        from agentkit.backends.transformers.generation import prefill

        with self._run_lock:
            cache, reused = self._prefix.take(prompt)
            try:
                logprobs, cache = prefill(self.loaded.model, prompt, cache=cache, reused=reused)
            except Exception:
                self._prefix.clear()
                raise
            self._prefix.store(prompt, cache)
            self.stats.record_prefill(len(prompt) - reused, reused)
        return logprobs.cpu().numpy()

    def _vocab_size(self) -> int:
        return int(self.loaded.model.get_output_embeddings().weight.shape[0])

    def _grammar(self, request: ModelRequest, choice: str) -> str | None:
        if not self.constrained:
            return None
        if request.tools and self._call_format != "hermes":
            return None  # no grammar for this model's call syntax: leave calls and answers free
        most = self.max_calls if self.parallel_calls else 1
        return build_grammar(
            request.tools,
            tool_choice=choice,
            output_schema=request.output_schema,
            calls=(1, most),
            request_text=_value_source(request.messages) if self.values_from_request else None,
        )

    def _markers(self, request: ModelRequest) -> list[str]:
        markers = list(request.settings.stop)
        if request.tools and self.tool_choice(request) != "none":  # "decide" may still call
            markers.append(CALL_OPEN.strip())
        return markers

    def generate_sync(
        self,
        request: ModelRequest,
        on_text: Any = None,
        cancel: threading.Event | None = None,
    ) -> ModelResponse:
        """One request, blocking (``complete``/``stream`` run this on a worker thread)."""
        from agentkit.backends.transformers.generation import Sampling
        from agentkit.parsing import parse_tool_calls

        settings = request.settings
        prompt = self.prompt_ids(request)
        window = self.context_window
        if len(prompt) >= window:
            raise BackendError(
                f"the prompt has {len(prompt)} tokens but {self.name} accepts {window}; "
                "shorten the conversation"
            )
        max_new = min(settings.max_tokens or self.max_tokens, window - len(prompt))
        self.last_calls = None
        choice = self.decide(request)
        grammar = self._grammar(request, choice)
        sampling = Sampling(settings.temperature, settings.top_k, settings.top_p, settings.seed)
        job = _Job(sampling, tuple(settings.stop), on_text, cancel)
        if grammar is not None and self._call_by_call(choice):
            ids, text, finish = self._decode_calls(request, choice, prompt, max_new, job)
        else:
            matcher = self._grammar_cache().matcher(grammar) if grammar is not None else None
            out = self._decode(prompt, matcher, max_new, job, first=True)
            ids, text, finish = out.ids, out.text, out.finish_reason
        self.last_ids = list(ids)
        calls = []
        content: str | None = text.strip() or None
        if request.tools and choice != "none":
            formats = [self._call_format] if self._call_format and grammar is not None else None
            parsed = parse_tool_calls(text, formats=formats, tool_names=tool_names(request.tools))
            content, calls = parsed.content, parsed.tool_calls
            if finish == "length" and len(calls) > 1 and calls[-1].arguments_error is not None:
                # The token limit cut a further call in half; the complete ones before it stand.
                calls = calls[:-1]
        finish = "tool_calls" if calls else finish
        return ModelResponse(
            message=AssistantMessage(content=content, tool_calls=calls),
            usage=Usage(input_tokens=len(prompt), output_tokens=len(ids), requests=1),
            finish_reason=finish,
            model=self.name,
        )

    def _decode(self, prompt: list[int], matcher: Any, max_new: int, job: _Job, *, first: bool) -> Any:
        """The engine's decode loop on ``prompt``, reusing and keeping the KV cache. ``first``: this
        is the request's prompt (counted as a request in ``stats``), not a continuation of its reply."""
        from agentkit.backends.transformers.generation import generate

        loaded = self.loaded
        with self._run_lock:
            cache, reused = self._prefix.take(prompt)
            try:
                out = generate(
                    loaded.model,
                    loaded.tokenizer,
                    prompt,
                    cache=cache,
                    reused=reused,
                    max_new_tokens=max_new,
                    sampling=job.sampling,
                    stop_ids=self._stop_ids,
                    stop_strings=job.stop,
                    matcher=matcher,
                    on_text=job.on_text,
                    cancel=job.cancel,
                )
            except Exception:
                self._prefix.clear()
                raise
            self._prefix.store(out.cache_ids, out.cache)
            if first:
                self.stats.record(prefilled=len(prompt) - reused, reused=reused, generated=len(out.ids))
            else:
                self.stats.record_prefill(len(prompt) - reused, reused)
                self.stats.tokens_generated += len(out.ids)
        return out

    def _call_by_call(self, choice: str) -> bool:
        """Calls are decoded one at a time when the reply must call and may hold several."""
        most = self.max_calls if self.parallel_calls else 1
        return choice not in ("auto", "none") and (most is None or most > 1)

    def _decode_calls(
        self, request: ModelRequest, choice: str, prompt: list[int], max_new: int, job: _Job
    ) -> tuple[list[int], str, str]:
        from agentkit.backends.transformers.call_loop import CALL_SEPARATOR, decode_calls
        from agentkit.parsing import parse_tool_calls

        names = tool_names(request.tools)
        source = _value_source(request.messages) if self.values_from_request else None
        grammars = self._grammar_cache()
        started = [True]

        def grammar_for(previous: Any, advance: bool) -> str | None:
            return build_grammar(
                request.tools,
                tool_choice=choice,
                output_schema=request.output_schema,
                calls=(1, 1),
                request_text=source,
                previous_calls=previous,
                advance=advance,
            )

        def matcher_for(previous: Any) -> Any:
            return grammars.matcher(grammar_for(previous, False) or "")

        def advance_for(previous: Any) -> Any:
            grammar = grammar_for(previous, True)
            return grammars.matcher(grammar) if grammar is not None else None

        def decode(ids: list[int], matcher: Any, budget: int) -> Any:
            first, started[0] = started[0], False
            return self._decode(ids, matcher, budget, job, first=first)

        def parse(text: str) -> tuple[str, dict[str, Any]] | None:
            calls = parse_tool_calls(text, formats=["hermes"], tool_names=names).tool_calls
            ok = len(calls) == 1 and calls[0].arguments_error is None
            return (calls[0].name, dict(calls[0].arguments)) if ok else None

        out = decode_calls(
            prompt=prompt,
            decode=decode,
            next_logprobs=lambda ids: self._next_logprobs(ids),
            matcher_for=matcher_for,
            parse=parse,
            separator=self.loaded.tokenizer(CALL_SEPARATOR, add_special_tokens=False).input_ids,
            stop_ids=sorted(self._stop_ids),
            max_calls=self.max_calls if self.max_calls is not None else 2**31,
            max_new_tokens=max_new,
            stop_threshold=self.stop_threshold,
            advance_for=advance_for if self.advance_on_repeat and source is not None else None,
        )
        self.last_calls = {
            "stop_log_odds": out.stop_log_odds,
            "dropped_repeat": out.dropped_repeat,
            "advanced": out.advanced,
        }
        return out.ids, out.text, out.finish_reason

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

    async def aclose(self) -> None:
        self._prefix.clear()

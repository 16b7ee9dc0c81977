"""``TransformersBackend``: a Hugging Face model in-process, with tool calls that parse.

The request logic (prompting, tool-choice policy, grammar, parsing, streaming, cancellation) is the
engine-neutral :class:`~agentkit.backends.local.engine.InProcessBackend`; this module adds what is
transformers' own: loading through ``from_pretrained`` (a GGUF dequantized once, see ``loading``), the
KV cache as a ``DynamicCache`` cropped to the common prefix (``kv_cache``), and the torch decode loop
(``generation``), and the decision path that needs the model's next-token log-probabilities: the
decision step (:mod:`agentkit.backends.local.decision`), calls decoded one at a time
(:mod:`agentkit.backends.local.call_loop`) and values from the request
(:mod:`agentkit.backends.local.request_values`). Those three modules are engine-neutral; this engine
supplies the logits (``generation.prefill``), so ``local`` decides here while ``local@llama`` keeps the
forced ``call_then_answer`` path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentkit.backends.base import ModelRequest, ModelResponse
from agentkit.backends.local.constraints import CALL_OPEN, build_grammar, tool_names
from agentkit.backends.local.decision import DEFAULT_CALL_THRESHOLD
from agentkit.backends.local.engine import (
    DEFAULT_MAX_TOKENS,
    Decoded,
    DecodeJob,
    EngineReady,
    InProcessBackend,
    Sampling,
    turn_choice,
)
from agentkit.backends.local.request_values import value_source
from agentkit.backends.transformers.kv_cache import PrefixCache
from agentkit.backends.transformers.loading import LoadedModel, ModelSource, load
from agentkit.errors import BackendError, ConfigurationError

_models: dict[tuple[Any, ...], LoadedModel] = {}
_models_lock = threading.Lock()


def _shared_model(key: tuple[Any, ...], **kwargs: Any) -> LoadedModel:
    """One loaded copy per (source, device, dtype) in a process: several agents on ``local`` share it."""
    with _models_lock:
        loaded = _models.get(key)
        if loaded is None:
            loaded = _models[key] = load(**kwargs)
        return loaded


class TransformersBackend(InProcessBackend):
    """A local transformers model (hub id or directory, GGUF file, or the embedded SmolLM2).

    Args:
        source: what to load (see :mod:`agentkit.backends.transformers.loading`).
        device, dtype: default: CUDA/MPS when present (bf16/fp16), else CPU in float32.
        threads: torch CPU threads (default: ``$AGENTKIT_TORCH_THREADS`` or half the cores, at most 8).
        gguf_cache: save a dequantized GGUF as safetensors once and load that afterwards.
        decide_calls: with ``tool_choice="auto"``, the first reply after a user message is a call or an
            answer as :mod:`~agentkit.backends.local.decision` decides (the request shares a word with
            a tool, and the model's first-token log-odds of a call exceed ``call_threshold``); after
            successful results the reply answers, after a failed call it calls again. ``local`` turns
            this on. Needs ``constrained``; ``call_then_answer`` wins when both are on.
        call_threshold: the first-token log-odds above which ``decide_calls`` lets a call through.
        max_calls: at most this many calls in one reply (``None``: no bound); ignored without
            ``parallel_calls``. When a reply must call and may hold several calls, they are decoded
            one at a time (:mod:`~agentkit.backends.local.call_loop`): a repeated call ends the reply,
            and another call follows only while the model's log-odds of ending the reply stay at most
            ``stop_threshold``.
        advance_on_repeat: with ``values_from_request``, a call that repeats an earlier one is decoded
            again under a grammar that makes it take a number the request writes after those the
            reply's calls used (``"gcd of 36 and 48, and of 36 and 60"``); the reply ends as before
            when the request writes no further number.
        values_from_request: a string argument whose schema does not pin its form (no enum, const,
            pattern or format) must be a span of the last user message or of a tool result since
            (:mod:`~agentkit.backends.local.request_values`), and an array of numbers holds at most as
            many items as those write numbers; ``local`` turns this on.
        Other options (``constrained``, ``reuse_cache``, ``native_tools``, ``call_then_answer``,
        ``parallel_calls``, ``max_tokens``, ``context_window``) as for every in-process engine
        (:class:`~agentkit.backends.local.engine.InProcessBackend`).
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
        super().__init__(
            name=name or f"transformers:{source.label}",
            constrained=constrained,
            reuse_cache=reuse_cache,
            native_tools=native_tools,
            call_then_answer=call_then_answer,
            parallel_calls=parallel_calls,
            max_tokens=max_tokens,
            context_window=context_window,
        )
        self.source = source
        self.decide_calls = decide_calls
        self.call_threshold = call_threshold
        self.max_calls = max_calls
        self.stop_threshold = stop_threshold
        self.advance_on_repeat = advance_on_repeat
        self.values_from_request = values_from_request
        self.last_decision: dict[str, Any] | None = None
        """How the decision step chose the last request's first reply (``None`` when it did not run)."""
        self.last_calls: dict[str, Any] | None = None
        """How the last call-by-call reply ended (log-odds of stopping after each call, a dropped repeat)."""
        self._load_args: dict[str, Any] = {
            "device": device,
            "dtype": dtype,
            "threads": threads,
            "use_gguf_cache": gguf_cache,
        }
        self._prefix = PrefixCache(enabled=reuse_cache)
        self._loaded: LoadedModel | None = None

    # -- loading -------------------------------------------------------------------------------------

    @property
    def loaded(self) -> LoadedModel:
        """The model, loading it now (blocking) if needed."""
        self.ensure_loaded()
        assert self._loaded is not None
        return self._loaded

    def _load_engine(self, progress: Any) -> EngineReady:
        from agentkit.backends.transformers.tokenizer import HFChatTemplate

        args = self._load_args
        key = (self.source, args["device"], args["dtype"], args["use_gguf_cache"])
        loaded = _shared_model(key, source=self.source, progress=progress, **args)
        self._loaded = loaded
        return EngineReady(HFChatTemplate(loaded.tokenizer), self._find_stop_ids(loaded))

    def _load_label(self) -> str:
        return self.source.label

    @property
    def provider(self) -> str:
        return "transformers"

    @property
    def model(self) -> str:
        """The hub id or directory the weights come from, or the GGUF file's name."""
        if self.source.kind == "gguf":
            return self.source.location.replace("\\", "/").rsplit("/", 1)[-1]
        return self.source.location

    @staticmethod
    def _find_stop_ids(loaded: LoadedModel) -> frozenset[int]:
        ids: set[int] = set()
        eos = getattr(loaded.model.generation_config, "eos_token_id", None)
        for value in eos if isinstance(eos, list) else [eos]:
            if isinstance(value, int):
                ids.add(value)
        if loaded.tokenizer.eos_token_id is not None:
            ids.add(int(loaded.tokenizer.eos_token_id))
        return frozenset(ids)

    def _read_context_window(self) -> int | None:
        """From config.json or the GGUF header, without loading the weights (a hub id is the
        exception: its config comes with the model)."""
        from agentkit.backends.local.gguf_file import gguf_context_length
        from agentkit.backends.transformers.loading import gguf_cache_dir
        from agentkit.backends.transformers.metadata import CONTEXT_LENGTH_KEYS, config_context_length

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

    def _ll_tokenizer(self) -> Any:
        from agentkit.backends.transformers.tokenizer import ll_tokenizer

        loaded = self.loaded
        eos = loaded.tokenizer.eos_token_id
        return ll_tokenizer(loaded.tokenizer, int(eos if eos is not None else min(self._stop_ids)))

    # -- decoding ------------------------------------------------------------------------------------

    def _decode(self, prompt: list[int], job: DecodeJob) -> Decoded:
        """The torch decode loop on ``prompt``, reusing and keeping the KV cache."""
        from agentkit.backends.transformers.generation import generate

        loaded = self.loaded
        cache, reused = self._prefix.take(prompt)
        out = generate(
            loaded.model,
            loaded.tokenizer,
            prompt,
            cache=cache,
            reused=reused,
            max_new_tokens=job.max_new_tokens,
            sampling=job.sampling,
            stop_ids=job.stop_ids,
            stop_strings=job.stop_strings,
            matcher=job.matcher,
            on_text=job.on_text,
            cancel=job.cancel,
        )
        self._prefix.store(out.cache_ids, out.cache)
        return Decoded(out.ids, out.text, out.finish_reason, reused)

    def _drop_cache(self) -> None:
        self._prefix.clear()

    # -- the decision path ---------------------------------------------------------------------------

    def tool_choice(self, request: ModelRequest) -> str:
        """The request's tool choice, adjusted where ``call_then_answer`` or ``decide_calls`` applies:
        ``"decide"`` means the decision step chooses (see :meth:`decide`)."""
        if not self.decide_calls or self.call_then_answer:
            return super().tool_choice(request)
        if not (self.constrained and request.tools and request.tool_choice == "auto"):
            return request.tool_choice
        return turn_choice(request.messages, after_user="decide")

    def decide(self, request: ModelRequest) -> str:
        """The tool choice this request's reply is decoded under, running the decision step when
        :meth:`tool_choice` says ``"decide"`` (its record is kept in ``last_decision``)."""
        from agentkit.backends.local import decision

        choice = self.tool_choice(request)
        self.last_decision = None
        if choice != "decide":
            return choice
        question = decision.last_user_text(request.messages)
        log_odds = None
        if decision.needs_model(question, request.tools):
            self.ensure_loaded()  # the call syntax is known once the model is
            if self._grammar(request, "required") is None:
                return "auto"  # no grammar for this model's call syntax: nothing to decide with
            log_odds = self._call_log_odds(request)
        made = decision.decide(question, request.tools, log_odds, self.call_threshold)
        self.last_decision = made.to_json()
        return made.choice

    def _call_log_odds(self, request: ModelRequest) -> float:
        """The first token's log-odds of a call against an answer, under the reply grammar, minus the
        same for a content-free request (:func:`~agentkit.backends.local.decision.content_free`): what
        the request itself adds, whatever the system prompt and tools push towards. The request's
        prompt is run last and its cache kept, so decoding the reply afterwards prefills one token."""
        from agentkit.backends.local import decision
        from agentkit.backends.local.constraints import start_tokens

        grammars = self._grammar_cache()
        masks = []
        for choice in ("required", "none"):
            grammar = build_grammar(request.tools, tool_choice=choice, output_schema=request.output_schema)
            masks.append(start_tokens(grammars.matcher(grammar or ""), self._vocab_size()))
        reference = decision.call_log_odds(
            self._next_logprobs(self.prompt_ids(decision.content_free(request))), *masks
        )
        return decision.call_log_odds(self._next_logprobs(self.prompt_ids(request)), *masks) - reference

    def _next_logprobs(self, prompt: list[int]) -> Any:
        """The next token's log-probabilities after ``prompt`` (numpy), reusing and keeping the cache."""
        from agentkit.backends.transformers.generation import prefill

        with self._run_lock:
            cache, reused = self._prefix.take(prompt)
            try:
                logprobs, cache = prefill(self.loaded.model, prompt, cache=cache, reused=reused)
            except Exception:
                self._drop_cache()
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
            request_text=value_source(request.messages) if self.values_from_request else None,
        )

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
        """One request, blocking: the shared request logic, with the decision step before the reply and
        several calls decoded one at a time."""
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

    def _call_by_call(self, choice: str) -> bool:
        """Calls are decoded one at a time when the reply must call and may hold several."""
        most = self.max_calls if self.parallel_calls else 1
        return choice not in ("auto", "none") and (most is None or most > 1)

    def _decode_calls(self, request: ModelRequest, choice: str, prompt: list[int], job: DecodeJob) -> Decoded:
        from agentkit.backends.local.call_loop import CALL_SEPARATOR, decode_calls
        from agentkit.parsing import parse_tool_calls

        names = tool_names(request.tools)
        source = value_source(request.messages) if self.values_from_request else None
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

        def decode(ids: list[int], matcher: Any, budget: int) -> Decoded:
            first, started[0] = started[0], False
            return self._run(ids, replace(job, matcher=matcher, max_new_tokens=budget), first=first)

        def parse(text: str) -> tuple[str, dict[str, Any]] | None:
            calls = parse_tool_calls(text, formats=["hermes"], tool_names=names).tool_calls
            ok = len(calls) == 1 and calls[0].arguments_error is None
            return (calls[0].name, dict(calls[0].arguments)) if ok else None

        out = decode_calls(
            prompt=prompt,
            decode=decode,
            next_logprobs=self._next_logprobs,
            matcher_for=matcher_for,
            parse=parse,
            separator=self.loaded.tokenizer(CALL_SEPARATOR, add_special_tokens=False).input_ids,
            stop_ids=sorted(self._stop_ids),
            max_calls=self.max_calls if self.max_calls is not None else 2**31,
            max_new_tokens=job.max_new_tokens,
            stop_threshold=self.stop_threshold,
            advance_for=advance_for if self.advance_on_repeat and source is not None else None,
        )
        self.last_calls = {
            "stop_log_odds": out.stop_log_odds,
            "dropped_repeat": out.dropped_repeat,
            "advanced": out.advanced,
        }
        return Decoded(out.ids, out.text, out.finish_reason, 0)

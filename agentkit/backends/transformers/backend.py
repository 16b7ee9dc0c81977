"""``TransformersBackend``: a Hugging Face model in-process, with tool calls that parse.

The request logic (prompting, tool-choice policy, grammar, parsing, streaming, cancellation) is the
engine-neutral :class:`~agentkit.backends.local.engine.InProcessBackend`; this module adds what is
transformers' own: loading through ``from_pretrained`` (a GGUF dequantized once, see ``loading``), the
KV cache as a ``DynamicCache`` cropped to the common prefix (``kv_cache``), the torch decode loop
(``generation``), and the next token's log-probabilities after a prompt (``generation.prefill``), which
the decision path of :mod:`agentkit.backends.local.deciding` reads.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Unpack

from agentkit.backends.local.engine import EngineReady, InProcessBackend, InProcessOptions
from agentkit.backends.local.jobs import Decoded, DecodeJob
from agentkit.backends.transformers.kv_cache import PrefixCache
from agentkit.backends.transformers.loading import LoadedModel, ModelSource, load
from agentkit.errors import ConfigurationError

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
        name: the backend's name (default: ``transformers:`` and the source).
        Other options (``constrained``, ``reuse_cache``, ``native_tools``, ``call_then_answer``,
        ``decide_calls``, ``call_threshold``, ``parallel_calls``, ``max_calls``, ``stop_threshold``,
        ``advance_on_repeat``, ``distinct_values``, ``count_from_request``, ``values_from_request``,
        ``max_tokens``, ``context_window``) as for every in-process engine
        (:class:`~agentkit.backends.local.engine.InProcessBackend`).
    """

    def __init__(
        self,
        source: ModelSource,
        *,
        device: str | None = None,
        dtype: str | None = None,
        threads: int | None = None,
        gguf_cache: bool = True,
        name: str | None = None,
        **options: Unpack[InProcessOptions],
    ) -> None:
        if threads is not None and threads < 1:
            raise ConfigurationError(f"threads must be >= 1, got {threads}")
        super().__init__(name=name or f"transformers:{source.label}", **options)
        self.source = source
        self._load_args: dict[str, Any] = {
            "device": device,
            "dtype": dtype,
            "threads": threads,
            "use_gguf_cache": gguf_cache,
        }
        self._prefix = PrefixCache(enabled=self.reuse_cache)
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

    def _prefill_logprobs(self, prompt: list[int]) -> tuple[Any, int]:
        from agentkit.backends.transformers.generation import prefill

        cache, reused = self._prefix.take(prompt)
        logprobs, cache = prefill(self.loaded.model, prompt, cache=cache, reused=reused)
        self._prefix.store(prompt, cache)
        return logprobs.cpu().numpy(), reused

    def _vocab_size(self) -> int:
        return int(self.loaded.model.get_output_embeddings().weight.shape[0])

    def _drop_cache(self) -> None:
        self._prefix.clear()

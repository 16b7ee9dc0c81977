"""``LlamaCppBackend``: a GGUF model on llama.cpp, in this process, with its quantized weights.

The request logic (prompting, tool-choice policy and decision step, grammar, parsing, streaming,
cancellation, token counting) is the engine-neutral
:class:`~agentkit.backends.local.engine.InProcessBackend`, the same code the transformers engine runs;
this module adds what is llama.cpp's own: loading (``loading``: checked header, memory, a crash-proof
first check, then ``llama_cpp.Llama``), the chat template from the GGUF (``chat_template``), the
decode loop over llama.cpp's KV cache (``decoding``), and the next token's log-probabilities after a
prompt from the same prefill, so the decision step, each call of a call-by-call reply and the reply
share one KV cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Unpack

from agentkit.backends.llamacpp.loading import LoadedLlama
from agentkit.backends.local.engine import EngineReady, InProcessBackend, InProcessOptions
from agentkit.backends.local.jobs import Decoded, DecodeJob
from agentkit.errors import ConfigurationError


class LlamaCppBackend(InProcessBackend):
    """A GGUF file on llama.cpp (``gguf:PATH`` when llama-cpp-python is installed, ``local@llama``).

    Args:
        path: the GGUF file.
        threads: llama.cpp threads for decoding and prefill (default: ``$AGENTKIT_LLAMA_THREADS``, else
            the physical cores this process may use for decoding and every usable core for prefill).
        context_window: tokens of prompt plus reply; default: the GGUF's own context length. The KV
            cache for all of it is allocated when the model loads.
        name: the backend's name (default: ``llama.cpp:`` and the path).
        Other options (``constrained``, ``reuse_cache``, ``native_tools``, ``call_then_answer``,
        ``decide_calls``, ``call_threshold``, ``parallel_calls``, ``max_calls``, ``stop_threshold``,
        ``advance_on_repeat``, ``distinct_values``, ``count_from_request``, ``values_from_request``,
        ``max_tokens``) as for every in-process engine
        (:class:`~agentkit.backends.local.engine.InProcessBackend`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int | None = None,
        name: str | None = None,
        **options: Unpack[InProcessOptions],
    ) -> None:
        if threads is not None and threads < 1:
            raise ConfigurationError(f"threads must be >= 1, got {threads}")
        self.path = Path(path)
        super().__init__(name=name or f"llama.cpp:{self.path}", **options)
        self._threads = (threads, threads) if threads is not None else None
        self._loaded: LoadedLlama | None = None
        self._pieces: Any = None
        self._logits: Any = None

    @property
    def loaded(self) -> LoadedLlama:
        """The model, loading it now (blocking) if needed."""
        self.ensure_loaded()
        assert self._loaded is not None
        return self._loaded

    @property
    def provider(self) -> str:
        return "llama.cpp"

    @property
    def model(self) -> str:
        """The GGUF file's name."""
        return self.path.name

    def _load_label(self) -> str:
        return str(self.path)

    def _load_engine(self, progress: Any) -> EngineReady:
        from agentkit.backends.llamacpp.decoding import Logits, Pieces
        from agentkit.backends.llamacpp.loading import load

        loaded = load(self.path, n_ctx=self.context_window, threads=self._threads, progress=progress)
        self._loaded, self._pieces = loaded, Pieces(loaded.llm)
        self._logits = Logits(loaded.llm, loaded.n_vocab)
        return EngineReady(loaded.chat, loaded.stop_ids)

    def _read_context_window(self) -> int | None:
        """From the GGUF header (no weights are loaded)."""
        from agentkit.backends.local.gguf_file import check_gguf

        return check_gguf(self.path).context_length

    def _ll_tokenizer(self) -> Any:
        from agentkit.backends.llamacpp.loading import ll_tokenizer

        return ll_tokenizer(self.loaded)

    def _decode(self, prompt: list[int], job: DecodeJob) -> Decoded:
        from agentkit.backends.llamacpp.decoding import decode

        loaded = self.loaded
        return decode(
            loaded.llm, prompt, job, reuse=self.reuse_cache, pieces=self._pieces, logits=self._logits
        )

    def _prefill_logprobs(self, prompt: list[int]) -> tuple[Any, int]:
        from agentkit.backends.llamacpp.decoding import log_softmax, prefill

        reused = prefill(self.loaded.llm, prompt, self.reuse_cache)
        assert reused is not None  # only a cancel event stops a prefill early
        return log_softmax(self._logits.last()), reused

    def _vocab_size(self) -> int:
        return self.loaded.n_vocab

    def _drop_cache(self) -> None:
        if self._loaded is not None:
            self._loaded.llm.n_tokens = 0  # the next evaluation overwrites the KV cache from the start

    def close_sync(self) -> None:
        """Free the model and its KV cache (a later request loads it again, without the check)."""
        with self._load_lock, self._run_lock:
            self._loaded, self._pieces, self._logits = None, None, None
            self._renderer, self._grammars = None, None  # the grammars' tokenizer holds the model

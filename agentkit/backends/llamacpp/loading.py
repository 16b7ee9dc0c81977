"""Loading a GGUF file into llama.cpp, in this process, only after it is known to be safe.

The order matters, because llama.cpp cannot be interrupted safely once it holds the file:

1. the header is read and checked in Python (:mod:`agentkit.backends.local.gguf_file`): a truncated
   or damaged file is refused with what is wrong;
2. the KV cache the context window needs is compared with the free memory: llama.cpp allocates and
   zeroes it whole, and on Linux that ends with the OOM killer, not an error;
3. the first time this file meets this build, a child process loads it and runs a prompt
   (:mod:`.probe`): a crash there costs the child, not this interpreter;
4. then ``llama_cpp.Llama`` loads it here (mmap: the quantized weights stay as they are, and load in a
   fraction of a second), with llama.cpp's log captured so that a refusal can say why.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.backends.llamacpp import machine, probe
from agentkit.backends.llamacpp.chat_template import GGUFChatTemplate
from agentkit.backends.llamacpp.errors import refusal_message
from agentkit.backends.local.gguf_file import GGUFInfo, check_gguf
from agentkit.errors import BackendError, ConfigurationError

if TYPE_CHECKING:
    from agentkit.backends.local.feedback import LoadProgress

logger = logging.getLogger("agentkit.local")

N_BATCH = 512
"""Prompt tokens per llama.cpp batch (its default)."""
MEMORY_MARGIN = 0.9
"""Share of the free memory the KV cache may take."""


@dataclass(slots=True)
class LoadedLlama:
    """A llama.cpp model and context, with what the shared parts need from them."""

    llm: Any  # llama_cpp.Llama
    info: GGUFInfo
    chat: GGUFChatTemplate
    eos: int
    stop_ids: frozenset[int]
    n_vocab: int
    threads: tuple[int, int]
    load_seconds: float
    checked_now: bool
    """True when this load ran the child-process check (the first load of this file on this build)."""


def check_memory(model: Path, info: GGUFInfo, n_ctx: int) -> None:
    """Refuse a context window whose KV cache would not fit the free memory."""
    needed = info.kv_cache_bytes(n_ctx)
    free = machine.available_memory()
    if needed is None or free is None or needed <= free * MEMORY_MARGIN:
        return
    per_token = needed / n_ctx
    fits = int(free * MEMORY_MARGIN / per_token) // 256 * 256
    raise ConfigurationError(
        f"a context window of {n_ctx} tokens for {model} needs a {needed / 2**30:.1f} GiB KV cache, but "
        f"only {free / 2**30:.1f} GiB of memory is free; pass context_window={max(fits, 256)} (or less) "
        "to the backend"
    )


class _LogCapture:
    """llama.cpp's log while it loads, kept for error messages (its own handler prints it to stderr
    only in verbose mode), and echoed to stderr when ``echo`` (the check's child process, whose parent
    reads it even after a crash). The callback object must outlive every call into llama.cpp that may
    log."""

    _lock = threading.Lock()

    def __init__(self, echo: bool = False) -> None:
        import llama_cpp

        self.lines: list[str] = []
        self._api = llama_cpp

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def collect(level: int, text: bytes, user_data: Any) -> None:
            line = text.decode("utf-8", errors="replace")
            self.lines.append(line)
            if echo:
                sys.stderr.write(line)
                sys.stderr.flush()

        self._callback = collect

    @contextmanager
    def active(self) -> Iterator[None]:
        api = self._api
        with self._lock:
            previous = api.llama_log_callback()
            previous_data = ctypes.c_void_p()
            api.llama_log_get(ctypes.byref(previous), ctypes.byref(previous_data))
            api.llama_log_set(self._callback, ctypes.c_void_p(0))
            try:
                yield
            finally:
                api.llama_log_set(previous, previous_data)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _token_text(vocab: Any, token: int) -> str:
    import llama_cpp

    if token < 0:
        return ""
    return bytes(llama_cpp.llama_vocab_get_text(vocab, token) or b"").decode("utf-8", errors="replace")


def _special_tokens(llm: Any) -> tuple[int, frozenset[int], dict[str, str]]:
    """The end-of-sequence token, the tokens that end a reply, and the special tokens' texts (the
    variables chat templates use)."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    eos = int(llama_cpp.llama_vocab_eos(vocab))
    # eos and end-of-turn (end-of-message where defined): not llama.cpp's whole "end of generation"
    # set, which also holds tokens guessed from their names (SmolLM2's <reponame>).
    ends = [eos, int(llama_cpp.llama_vocab_eot(vocab))]
    if hasattr(llama_cpp, "llama_vocab_eom"):
        ends.append(int(llama_cpp.llama_vocab_eom(vocab)))
    tokens = {
        "bos_token": _token_text(vocab, int(llama_cpp.llama_vocab_bos(vocab))),
        "eos_token": _token_text(vocab, eos),
    }
    return eos, frozenset(t for t in ends if t >= 0), tokens


def load(
    model: Path, *, n_ctx: int, threads: tuple[int, int] | None = None, progress: LoadProgress | None = None
) -> LoadedLlama:
    """Load ``model`` (blocking; call it off the event loop) after the checks above."""
    started = time.perf_counter()
    info = check_gguf(model)
    if info.chat_template is None:
        raise ConfigurationError(
            f"{model} has no chat template (tokenizer.chat_template); agentkit needs one to prompt a "
            "chat model"
        )
    check_memory(model, info, n_ctx)
    if progress is not None and not probe.is_checked(model):
        progress.update(None, stage="checking (once)")
    checked_now = probe.ensure_checked(model)
    if progress is not None:
        progress.update(None, stage="loading")
    loaded = open_llama(model, info, n_ctx=n_ctx, threads=threads or machine.default_threads())
    loaded.checked_now = checked_now
    loaded.load_seconds = time.perf_counter() - started
    logger.debug(
        "loaded %s on llama.cpp in %.2f s (%d decode / %d prefill threads, %d-token window)",
        model,
        loaded.load_seconds,
        *loaded.threads,
        n_ctx,
    )
    return loaded


def open_llama(
    model: Path, info: GGUFInfo, *, n_ctx: int, threads: tuple[int, int], echo_log: bool = False
) -> LoadedLlama:
    """``llama_cpp.Llama`` on ``model`` and what the engine reads from it, with no checks: the child
    process of :mod:`.probe` runs exactly this before this process does."""
    from llama_cpp import Llama

    started = time.perf_counter()
    capture = _LogCapture(echo=echo_log)
    with capture.active():
        try:
            llm = Llama(
                str(model),
                n_ctx=n_ctx,
                n_batch=min(N_BATCH, n_ctx),
                n_ubatch=min(N_BATCH, n_ctx),
                n_threads=threads[0],
                n_threads_batch=threads[1],
                # quiet: llama-cpp-python points fds 1 and 2 at /dev/null while it loads; the child
                # of the check keeps them, so that its parent reads what native code printed
                verbose=echo_log,
            )
        except (ValueError, RuntimeError) as exc:
            raise ConfigurationError(refusal_message(model, capture.text or str(exc))) from None
    eos, stop_ids, tokens = _special_tokens(llm)
    chat = GGUFChatTemplate(
        info.chat_template or "",
        tokens,
        lambda text: list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)),
    )
    return LoadedLlama(
        llm=llm,
        info=info,
        chat=chat,
        eos=eos,
        stop_ids=stop_ids,
        n_vocab=int(llm.n_vocab()),
        threads=threads,
        load_seconds=time.perf_counter() - started,
        checked_now=False,
    )


def ll_tokenizer(loaded: LoadedLlama) -> Any:
    """An llguidance tokenizer for the model's vocabulary (about a second for 50k tokens; built once
    per model). Its tokenize callback holds the ``Llama`` object, so the model outlives it."""
    import llama_cpp
    import llguidance
    from llguidance._tokenizer import TokenizerWrapper

    llm = loaded.llm
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    buffer = ctypes.create_string_buffer(1024)
    pieces: list[bytes] = []
    special: list[int] = []
    control = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
    user_defined = llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    for token in range(loaded.n_vocab):
        size = llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, True)
        if size < 0:
            raise BackendError(f"token {token} of {loaded.info.path} is longer than {len(buffer)} bytes")
        piece = buffer.raw[:size]
        attributes = llama_cpp.llama_vocab_get_attr(vocab, token)
        if attributes & control or (
            attributes & user_defined and piece.startswith(b"<") and piece.endswith(b">")
        ):
            piece = b"\xff" + piece  # llguidance's mark for a special token (never produced by text)
            special.append(token)
        pieces.append(piece)

    class _Vocabulary:
        eos_token_id = loaded.eos
        bos_token_id = int(llama_cpp.llama_vocab_bos(vocab))
        tokens = pieces
        special_token_ids = special

        def __call__(self, text: bytes) -> list[int]:
            return list(llm.tokenize(text, add_bos=False, special=False))

    return llguidance.LLTokenizer(TokenizerWrapper(_Vocabulary()), n_vocab=loaded.n_vocab)

"""The llama.cpp decode loop: prefill what the KV cache lacks, then sample token by token in numpy.

``Llama`` keeps the token ids its KV cache holds (``input_ids[:n_tokens]``); a request keeps the
longest common prefix with its prompt, evaluates the rest in batches (checking for cancellation
between them), then reads each step's logits straight from llama.cpp's buffer, masks them with the
grammar, samples, and feeds the token back. Sampling is agentkit's own (greedy, temperature, top-k,
top-p, a seeded generator) rather than llama.cpp's sampler chain, so the grammar mask, stop strings,
cancellation and streaming work exactly as on the transformers engine.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from agentkit.backends.local.engine import find_stop
from agentkit.backends.local.jobs import Decoded, DecodeJob, Sampling
from agentkit.backends.local.stats import common_prefix_length
from agentkit.errors import BackendError

_TOP_P_CANDIDATES = 1024
"""top-p looks at the most likely tokens first; the whole vocabulary only if they fall short."""


def sample(logits: npt.NDArray[np.float32], sampling: Sampling, rng: np.random.Generator | None) -> int:
    """One token id from a vocabulary's logits (already masked: forbidden tokens are -inf)."""
    if sampling.greedy or rng is None:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / float(sampling.temperature or 1.0)
    candidates = np.flatnonzero(np.isfinite(scaled))
    if candidates.size == 0:
        return int(np.argmax(logits))
    values = scaled[candidates]
    if sampling.top_k is not None and 0 < sampling.top_k < values.size:
        keep = np.argpartition(values, -sampling.top_k)[-sampling.top_k :]
        candidates, values = candidates[keep], values[keep]
    weights = np.exp(values - values.max())
    if sampling.top_p is not None and 0 < sampling.top_p < 1:
        total = weights.sum()
        order = None
        if weights.size > _TOP_P_CANDIDATES:
            head = np.argpartition(-weights, _TOP_P_CANDIDATES)[:_TOP_P_CANDIDATES]
            if weights[head].sum() >= sampling.top_p * total:
                order = head[np.argsort(-weights[head], kind="stable")]
        if order is None:
            order = np.argsort(-weights, kind="stable")
        cumulative = np.cumsum(weights[order]) / total
        # the most likely tokens until their mass reaches top_p, the one that crosses it included
        cut = min(int(np.searchsorted(cumulative, sampling.top_p)) + 1, order.size)
        candidates, weights = candidates[order[:cut]], weights[order[:cut]]
    cumulative = np.cumsum(weights)
    at = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return int(candidates[min(at, candidates.size - 1)])


def log_softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Log-probabilities from logits (in float64, shifted by the maximum so that nothing overflows;
    masked ``-inf`` logits stay ``-inf``)."""
    values = logits.astype(np.float64)
    shifted = values - values.max()
    result: npt.NDArray[np.float64] = shifted - np.log(np.exp(shifted).sum())
    return result


def allowed_tokens(matcher: Any, n_vocab: int) -> npt.NDArray[np.bool_]:
    """The grammar's mask as booleans over the model's vocabulary."""
    bits = np.unpackbits(np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
    allowed = np.zeros(n_vocab, dtype=np.bool_)
    n = min(n_vocab, bits.size)
    allowed[:n] = bits[:n].astype(np.bool_)
    return allowed


class Pieces:
    """Token ids to bytes (special tokens as their text, as ``skip_special_tokens=False`` does)."""

    def __init__(self, llm: Any) -> None:
        import llama_cpp

        self._api = llama_cpp
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._buffer = ctypes.create_string_buffer(256)

    def __call__(self, token: int) -> bytes:
        size = self._api.llama_token_to_piece(self._vocab, token, self._buffer, len(self._buffer), 0, True)
        if size < 0:
            self._buffer = ctypes.create_string_buffer(-size)
            size = self._api.llama_token_to_piece(
                self._vocab, token, self._buffer, len(self._buffer), 0, True
            )
        return self._buffer.raw[:size]


class Logits:
    """Views of llama.cpp's logits for the last evaluated token (valid until the next evaluation). The
    buffer belongs to the context and rarely moves, so the numpy view is rebuilt only when it does."""

    def __init__(self, llm: Any, n_vocab: int) -> None:
        import llama_cpp

        self._api = llama_cpp
        self._llm = llm
        self._n_vocab = n_vocab
        self._address = 0
        self._view: npt.NDArray[np.float32] | None = None

    def last(self) -> npt.NDArray[np.float32]:
        pointer = self._api.llama_get_logits_ith(self._llm.ctx, -1)
        address = ctypes.cast(pointer, ctypes.c_void_p).value or 0
        if not address:
            raise BackendError("llama.cpp returned no logits for the last token")
        if address != self._address or self._view is None:
            self._view = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))
            self._address = address
        return self._view


def prefill(llm: Any, prompt: list[int], reuse: bool, cancel: threading.Event | None = None) -> int | None:
    """Evaluate what the KV cache lacks of ``prompt``; the number of tokens reused, or ``None`` when
    ``cancel`` was set between batches. At least the last prompt token is always evaluated: its logits
    start the reply."""
    held = int(llm.n_tokens)
    reused = 0
    if reuse and held:
        reused = min(common_prefix_length(llm.input_ids[:held].tolist(), prompt), len(prompt) - 1)
    llm.n_tokens = reused  # the next eval drops the KV cache's entries past this point
    rest = prompt[reused:]
    for start in range(0, len(rest), llm.n_batch):
        if cancel is not None and cancel.is_set():
            return None
        llm.eval(rest[start : start + llm.n_batch])
    return reused


def decode(
    llm: Any, prompt: list[int], job: DecodeJob, *, reuse: bool, pieces: Pieces, logits: Logits
) -> Decoded:
    """Run ``prompt`` and decode under ``job`` (the grammar, sampling, stops, callback, cancellation)."""
    reused = prefill(llm, prompt, reuse, job.cancel)
    if reused is None:
        return Decoded([], "", "cancelled", 0)
    sampling, matcher = job.sampling, job.matcher
    rng = None if sampling.greedy else np.random.default_rng(sampling.seed)
    longest_stop = max((len(s) for s in job.stop_strings), default=0)
    ids: list[int] = []
    data = bytearray()
    text = ""
    finish = "length"
    for _ in range(job.max_new_tokens):
        if job.cancel is not None and job.cancel.is_set():
            finish = "cancelled"
            break
        if ids:
            llm.eval(ids[-1:])
        scores = logits.last()
        if matcher is not None:
            scores = np.where(allowed_tokens(matcher, scores.size), scores, np.float32(-np.inf))
        token = sample(scores, sampling, rng)
        if token in job.stop_ids:
            finish = "stop"
            break
        if matcher is not None and not matcher.consume_token(token):
            raise BackendError(f"constrained decoding failed at token {token}: {matcher.get_error()}")
        ids.append(token)
        previous = len(text)
        data += pieces(token)
        text = data.decode("utf-8", errors="replace")
        if job.stop_strings:
            at = find_stop(text, job.stop_strings, max(0, previous - longest_stop))
            if at >= 0:
                text = text[:at]
                finish = "stop"
                break
        if job.on_text is not None:
            job.on_text(text)
        if matcher is not None and matcher.is_stopped():
            finish = "stop"  # the grammar is complete: only the end token could follow
            break
    return Decoded(ids, text, finish, reused)

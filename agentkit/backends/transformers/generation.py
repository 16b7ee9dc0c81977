"""The decode loop: prefill what the cache lacks, then sample token by token.

A hand-written loop rather than ``model.generate``: it needs a cache that outlives the call (reuse across
agent steps), a grammar mask per token, stop strings checked on decoded text, cancellation between
tokens, and a callback per token for streaming. Each of those is a few lines here.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from agentkit.backends.local.engine import find_stop
from agentkit.backends.local.jobs import Sampling
from agentkit.backends.transformers.logits import mask_logits
from agentkit.errors import BackendError


def sample(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator | None) -> int:
    """One token id from a 1-D logits vector (already masked)."""
    if sampling.greedy:
        return int(torch.argmax(logits))
    logits = logits.float() / float(sampling.temperature or 1.0)
    if sampling.top_k is not None and 0 < sampling.top_k < logits.shape[-1]:
        kth = torch.topk(logits, sampling.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling.top_p is not None and 0 < sampling.top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        drop = cumulative > sampling.top_p
        drop[1:] = drop[:-1].clone()  # keep the token that crosses the threshold
        drop[0] = False
        logits = logits.masked_fill(torch.zeros_like(drop).scatter(0, order, drop), float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


@dataclass(slots=True)
class Generated:
    ids: list[int]
    """Generated token ids, the final stop token excluded."""
    text: str
    finish_reason: str  # "stop", "length" or "cancelled"
    cache: Any
    cache_ids: list[int]
    """The token ids whose keys/values ``cache`` holds."""


@functools.cache
def _cache_argument(model_class: Any) -> str:
    """The name ``forward`` takes the KV cache under: transformers 5 renamed it (the cache object is
    updated in place either way). Looked up once per model class, not per request."""
    return "cache" if "cache" in inspect.signature(model_class.forward).parameters else "past_key_values"


def prefill(model: Any, prompt: Sequence[int], *, cache: Any, reused: int) -> tuple[torch.Tensor, Any]:
    """Run ``prompt`` (its first ``reused`` tokens already in ``cache``) through the model; returns the
    log-probabilities of the next token and the cache, which then holds the whole prompt."""
    from transformers import DynamicCache

    device = next(model.parameters()).device
    if cache is None:
        cache, reused = DynamicCache(config=model.config), 0
    with torch.inference_mode():
        out = model(
            input_ids=torch.tensor([list(prompt[reused:])], device=device),
            use_cache=True,
            logits_to_keep=1,
            **{_cache_argument(model.__class__): cache},
        )
    return torch.log_softmax(out.logits[0, -1].float(), dim=-1), cache


def generate(
    model: Any,
    tokenizer: Any,
    prompt: Sequence[int],
    *,
    cache: Any,
    reused: int,
    max_new_tokens: int,
    sampling: Sampling,
    stop_ids: frozenset[int] | set[int],
    stop_strings: Sequence[str] = (),
    matcher: Any = None,
    on_text: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Generated:
    """Run the model on ``prompt`` (its first ``reused`` tokens already in ``cache``) and decode.

    ``on_text`` gets the whole decoded reply after each token (the caller computes deltas).
    """
    from transformers import DynamicCache

    device = next(model.parameters()).device
    generator = None
    if not sampling.greedy:
        generator = torch.Generator(device=device)
        if sampling.seed is not None:
            generator.manual_seed(sampling.seed)
        else:
            generator.seed()
    if cache is None:
        cache, reused = DynamicCache(config=model.config), 0
    cache_argument = _cache_argument(model.__class__)
    cache_ids = list(prompt[:reused])
    feed = list(prompt[reused:])
    ids: list[int] = []
    text = ""
    finish = "length"
    longest_stop = max((len(s) for s in stop_strings), default=0)
    with torch.inference_mode():
        for _ in range(max_new_tokens):
            if cancel is not None and cancel.is_set():
                finish = "cancelled"
                break
            out = model(
                input_ids=torch.tensor([feed], device=device),
                use_cache=True,
                logits_to_keep=1,
                **{cache_argument: cache},
            )
            cache_ids.extend(feed)
            logits = out.logits[0, -1]
            if matcher is not None:
                mask_logits(matcher, logits)
            token = sample(logits, sampling, generator)
            if token in stop_ids:
                finish = "stop"
                break
            if matcher is not None and not matcher.consume_token(token):
                raise BackendError(f"constrained decoding failed at token {token}: {matcher.get_error()}")
            ids.append(token)
            previous = len(text)
            text = tokenizer.decode(ids, skip_special_tokens=False)
            if stop_strings:
                at = find_stop(text, stop_strings, max(0, previous - longest_stop))
                if at >= 0:
                    text = text[:at]
                    finish = "stop"
                    break
            if on_text is not None:
                on_text(text)
            if matcher is not None and matcher.is_stopped():
                finish = "stop"  # the grammar is complete: only the end token could follow
                break
            feed = [token]
    return Generated(ids=ids, text=text, finish_reason=finish, cache=cache, cache_ids=cache_ids)

"""Counters of prompt work, the same for every in-process engine (benchmarks and tests read them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass(slots=True)
class CacheStats:
    """What each request cost: prompt tokens run through the model, prompt tokens whose keys/values
    came from the cache of the previous request, and tokens generated."""

    requests: int = 0
    tokens_prefilled: int = 0
    """Prompt tokens run through the model (the cost reuse avoids)."""
    tokens_reused: int = 0
    """Prompt tokens whose keys/values came from the cache."""
    tokens_generated: int = 0
    last_prefilled: int = 0
    last_reused: int = 0

    def record_prefill(self, prefilled: int, reused: int = 0) -> None:
        """A prompt run through the model outside a request's own decode (the decision step's first
        token, the next call of a call-by-call reply): ``prefilled`` new tokens, ``reused`` from the
        cache, so that every prompt token is counted one way or the other."""
        self.tokens_prefilled += prefilled
        self.tokens_reused += reused

    def record(self, prefilled: int, reused: int, generated: int) -> None:
        self.requests += 1
        self.tokens_prefilled += prefilled
        self.tokens_reused += reused
        self.tokens_generated += generated
        self.last_prefilled = prefilled
        self.last_reused = reused

"""KV-cache reuse across agent steps.

Each step's prompt is the previous prompt plus the previous reply plus a tool result, so almost all of
it was already run through the model. The backend keeps the cache of the last request together with the
token ids it holds, finds the longest common prefix with the new prompt, crops the cache there and
prefills only the rest. The cropped cache holds exactly the keys/values a fresh prefill of that prefix
would hold, so the output does not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentkit.backends.local.stats import common_prefix_length


@dataclass(slots=True)
class PrefixCache:
    """The cache of the last request and the token ids it covers."""

    enabled: bool = True
    ids: list[int] = field(default_factory=list)
    cache: Any = None

    def take(self, prompt: Sequence[int]) -> tuple[Any, int]:
        """``(cache, reused)``: the stored cache cropped to its common prefix with ``prompt`` (or
        ``(None, 0)``). At least one prompt token is always left to prefill, since its logits start
        the reply. The stored cache is handed over, not copied: store the new one when done."""
        cache, self.cache = self.cache, None
        ids, self.ids = self.ids, []
        if not self.enabled or cache is None:
            return None, 0
        reused = min(common_prefix_length(ids, prompt), len(prompt) - 1)
        if reused <= 0:
            return None, 0
        surplus = cache.get_seq_length() - reused
        if surplus > 0:
            # A negative argument means "drop this many from the end" in transformers 4.x and 5.x alike
            # (a positive one meant an absolute length in 4.x and is refused by 5.x).
            cache.crop(-surplus)
        return cache, reused

    def store(self, ids: Sequence[int], cache: Any) -> None:
        if self.enabled:
            self.ids, self.cache = list(ids), cache

    def clear(self) -> None:
        self.ids, self.cache = [], None

"""The glue between an llguidance matcher and torch logits (llguidance ships none for transformers,
and its own torch helper goes through torch.compile, which costs seconds on first use)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor


def allowed_tokens(matcher: Any, vocab_size: int) -> torch.Tensor:
    """A bool mask of the tokens the grammar admits next (tokens past the tokenizer's vocabulary,
    padding rows in the embedding matrix, are never allowed)."""
    bits = np.unpackbits(np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
    allowed = torch.zeros(vocab_size, dtype=torch.bool)
    n = min(vocab_size, bits.size)
    allowed[:n] = torch.from_numpy(bits[:n].astype(np.bool_))
    return allowed


def mask_logits(matcher: Any, logits: torch.Tensor) -> torch.Tensor:
    """``logits`` (last dim = vocabulary) with every token the grammar forbids set to -inf, in place."""
    allowed = allowed_tokens(matcher, logits.shape[-1]).to(logits.device)
    return logits.masked_fill_(~allowed, float("-inf"))


class GrammarLogitsProcessor(LogitsProcessor):
    """Use a matcher with ``model.generate(logits_processor=[...])`` (batch size 1)."""

    def __init__(self, matcher: Any) -> None:
        self.matcher = matcher
        self._prompt_length: int | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self._prompt_length is None:
            self._prompt_length = input_ids.shape[-1]
        elif input_ids.shape[-1] > self._prompt_length:
            self.matcher.consume_token(int(input_ids[0, -1]))
        mask_logits(self.matcher, scores)
        return scores

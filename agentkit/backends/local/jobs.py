"""What an in-process engine's decode loop is asked to do and what it gives back: the sampling
settings, the decode job and its result. Their own module so that the shared engine
(:mod:`.engine`), its decision path (:mod:`.deciding`) and each engine's decode loop use them without
importing one another (``engine`` re-exports them)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Sampling:
    """Resolved sampling settings; greedy when ``temperature`` is 0 or None."""

    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return not self.temperature


@dataclass(frozen=True, slots=True)
class DecodeJob:
    """What an engine's decode loop is asked to do for one request."""

    max_new_tokens: int
    sampling: Sampling
    stop_ids: frozenset[int]
    stop_strings: Sequence[str] = ()
    matcher: Any = None
    """An llguidance matcher in its start state, or ``None`` for free text."""
    on_text: Callable[[str], None] | None = None
    """Called with the whole decoded reply after each token (the caller computes deltas)."""
    cancel: threading.Event | None = None
    """Checked between tokens (and between prefill chunks): set, the loop stops with ``cancelled``."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """What the decode loop produced."""

    ids: list[int]
    """Generated token ids, the final stop token excluded."""
    text: str
    finish_reason: str  # "stop", "length" or "cancelled"
    reused: int
    """Prompt tokens whose keys/values came from the previous request's cache."""

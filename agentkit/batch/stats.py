"""Running counts of a batch, for its progress display and its summary."""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

from agentkit.batch.task import BatchResult

SLOWEST = 5


@dataclass
class BatchStats:
    """What a batch has done so far. ``failed`` counts final results without an answer; ``interrupted``
    counts tasks that stopped on a resumable error (a rerun resumes them); ``skipped`` counts tasks whose
    result was already in the output or journal (``already_done``: how many results there were when the
    batch started), ``recovered`` the results whose line was missing from the output and was written
    from the journal."""

    started: float = field(default_factory=time.monotonic)
    finished_at: float | None = None
    ok: int = 0
    failed: int = 0
    interrupted: int = 0
    skipped: int = 0
    already_done: int = 0
    recovered: int = 0
    malformed: int = 0
    duplicates: int = 0
    dispatched: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    busy_seconds: float = 0.0
    _slowest: list[tuple[float, str]] = field(default_factory=list, repr=False)

    @property
    def done(self) -> int:
        return self.ok + self.failed + self.interrupted

    @property
    def running(self) -> int:
        return max(0, self.dispatched - self.done)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def elapsed(self) -> float:
        return (self.finished_at or time.monotonic()) - self.started

    @property
    def tokens_per_second(self) -> float:
        elapsed = self.elapsed
        return self.tokens / elapsed if elapsed > 0 else 0.0

    @property
    def slowest(self) -> list[tuple[float, str]]:
        """The slowest tasks so far, (seconds, task id), slowest first."""
        return sorted(self._slowest, reverse=True)

    def add(self, result: BatchResult) -> None:
        if result.ok:
            self.ok += 1
        elif result.final:
            self.failed += 1
        else:
            self.interrupted += 1
        self.input_tokens += result.usage.input_tokens
        self.output_tokens += result.usage.output_tokens
        self.busy_seconds += result.duration
        entry = (result.duration, result.task_id)
        if len(self._slowest) < SLOWEST:
            heapq.heappush(self._slowest, entry)
        elif entry > self._slowest[0]:
            heapq.heapreplace(self._slowest, entry)

    def finish(self) -> None:
        self.finished_at = time.monotonic()

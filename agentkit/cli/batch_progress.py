"""What ``agentkit batch`` shows while it runs and when it ends.

On a terminal (and with rich installed): a live progress bar with done, failed, running, tokens/s and
the time left, and each skipped input line printed above it. Otherwise: the skipped lines as plain
lines. Either way, a summary at the end: counts, tokens, wall time and the slowest tasks.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from agentkit.batch.stats import BatchStats
from agentkit.batch.taskfile import TaskProblem

REFRESH_SECONDS = 0.1


class PlainProgress:
    """Problems as lines on stderr; no live display."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr

    def start(self, total: int | None) -> None:
        return None

    def problem(self, problem: TaskProblem) -> None:
        self.stream.write(f"agentkit: skipped {problem}\n")

    def note(self, text: str) -> None:
        self.stream.write(f"agentkit: {text}\n")

    def update(self, stats: BatchStats, *, force: bool = False) -> None:
        return None

    def stop(self) -> None:
        self.stream.flush()


class RichProgress:
    """A live rich progress bar on stderr, redrawn at most every REFRESH_SECONDS."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("[cyan]{task.fields[running]} running"),
            TextColumn("{task.fields[rate]} tok/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task: Any = None
        self._last = 0.0
        self._lines = 0

    def start(self, total: int | None) -> None:
        self._lines = total or 0
        self.progress.start()
        self._task = self.progress.add_task("batch", total=total, failed=0, running=0, rate="0")

    def problem(self, problem: TaskProblem) -> None:
        self.progress.console.print(f"[yellow]skipped[/yellow] {problem}", markup=True, highlight=False)

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def update(self, stats: BatchStats, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._task is None or (not force and now - self._last < REFRESH_SECONDS):
            return
        self._last = now
        # Lines that will not run here: tasks done before this run, and skipped lines.
        not_run = stats.already_done + stats.malformed + stats.duplicates
        self.progress.update(
            self._task,
            total=max(stats.done, self._lines - not_run),
            completed=stats.done,
            failed=stats.failed + stats.interrupted,
            running=stats.running,
            rate=f"{stats.tokens_per_second:,.0f}",
        )

    def stop(self) -> None:
        self.progress.stop()


def make_progress(quiet: bool) -> PlainProgress | RichProgress:
    if not quiet and sys.stderr.isatty():
        try:
            return RichProgress()
        except ImportError:
            pass
    return PlainProgress()


def summary_lines(stats: BatchStats, *, out: str | None, journal: str | None) -> list[str]:
    """The end-of-batch report, one line per topic."""
    elapsed = stats.elapsed
    rate = stats.done / elapsed if elapsed > 0 else 0.0
    lines = [
        f"{stats.done} tasks run in {elapsed:.1f} s ({rate:.1f}/s): {stats.ok} answered, "
        f"{stats.failed} failed, {stats.interrupted} interrupted",
    ]
    if stats.skipped:
        recovered = f", {stats.recovered} of them recovered from the journal" if stats.recovered else ""
        lines.append(f"{stats.skipped} tasks already had a result and were skipped{recovered}")
    elif stats.recovered:
        lines.append(f"{stats.recovered} results recovered from the journal")
    if stats.malformed or stats.duplicates:
        lines.append(f"input lines skipped: {stats.malformed} malformed, {stats.duplicates} duplicate")
    lines.append(
        f"tokens: {stats.input_tokens:,} in, {stats.output_tokens:,} out "
        f"({stats.tokens_per_second:,.0f} tokens/s)"
    )
    slowest = stats.slowest
    if slowest:
        lines.append("slowest: " + ", ".join(f"{task_id} {seconds:.2f} s" for seconds, task_id in slowest))
    if stats.interrupted:
        lines.append(
            f"{stats.interrupted} tasks stopped on an error outside their control (model server, journal, "
            "worker): rerun the same command to resume them"
        )
    where = [f"results: {out}"] if out else []
    if journal:
        where.append(f"journal: {journal}")
    if where:
        lines.append(" · ".join(where))
    return lines

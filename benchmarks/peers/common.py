"""The shared workload and timing harness for the overhead benchmark.

Every framework runs the same scripted conversation: the model calls ``add(a, b)`` N-1 times, one call
per step, then answers with plain text. A step is one model call, so a run has N steps and N-1 tool
calls. The adapters count what really happened (model calls, tool executions, the framework's own step
count and final output) and :func:`verify` rejects any run that did not do the full workload, so a broken
adapter cannot report a fast time.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

PROMPT = "Add the numbers, one tool call at a time."
FINAL_ANSWER = "done"


class Workload:
    """The scripted model's decisions and the counters the tool and the model bump.

    The fake model of each framework asks :meth:`next_action` what to reply: ``("call", args, call_id)``
    for the first N-1 requests, then ``("answer", FINAL_ANSWER, "")``. O(1) per step, so the script
    itself adds no per-step growth.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.model_calls = 0
        self.tool_calls = 0

    def reset(self) -> None:
        self.model_calls = 0
        self.tool_calls = 0

    def next_action(self) -> tuple[str, dict[str, int], str]:
        self.model_calls += 1
        step = self.model_calls
        if step < self.n:
            return "call", {"a": step, "b": 1}, f"call_{step}"
        return "answer", {}, ""

    def add(self, a: int, b: int) -> int:
        """The tool body every framework wraps: counts its executions."""
        self.tool_calls += 1
        return a + b


@dataclass(frozen=True)
class Counts:
    """What one run did, as observed by the adapter."""

    model_calls: int
    tool_calls: int
    framework_steps: int
    """Model turns as the framework itself reports them (its step/request/response count)."""
    framework_tool_results: int
    """Tool results the framework put back into the conversation."""
    output: object


def verify(counts: Counts, n: int) -> None:
    """Raise unless the run made exactly N model calls, N-1 tool calls and returned the final answer."""
    expected = (n, n - 1, n, n - 1, FINAL_ANSWER)
    got = (
        counts.model_calls,
        counts.tool_calls,
        counts.framework_steps,
        counts.framework_tool_results,
        counts.output,
    )
    if got != expected:
        raise AssertionError(
            "workload not executed as scripted: expected (model calls, tool calls, framework steps, "
            f"tool results, output) = {expected!r}, got {got!r}"
        )


RunOnce = Callable[[], Counts] | Callable[[], Awaitable[Counts]]
Prepare = Callable[[Workload], RunOnce]
"""An adapter builds its agent once for a workload and returns a function that does one run."""


class Clocks:
    """Wall-clock and process CPU time since creation, in seconds.

    CPU time counts every thread of this process and nothing of other processes, so on a shared,
    loaded machine it stays close to what an idle machine's wall clock would show; the workload never
    sleeps or waits on I/O, so the two agree when the machine is idle.
    """

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def _batch(
    run: RunOnce, workload: Workload, k: int, loop: asyncio.Runner
) -> tuple[tuple[float, float], list[Counts]]:
    """Time k back-to-back runs; returns (wall, cpu) seconds and each run's counts (checked afterwards).

    Async adapters run inside one coroutine on a long-lived loop, so no per-run loop set-up is timed;
    sync adapters run plainly, outside any event loop, as their users call them.
    """
    counts: list[Counts] = []
    gc.collect()
    if inspect.iscoroutinefunction(run):

        async def many() -> tuple[float, float]:
            clocks = Clocks()
            for _ in range(k):
                workload.reset()
                counts.append(await run())
            return clocks.elapsed()

        return loop.run(many()), counts
    clocks = Clocks()
    for _ in range(k):
        workload.reset()
        counts.append(run())  # type: ignore[arg-type]
    return clocks.elapsed(), counts


def measure(
    prepare: Prepare, n: int, *, repeats: int, min_time: float, max_time: float, loop: asyncio.Runner
) -> dict[str, object]:
    """Median microseconds per step, by wall clock and by CPU time, over up to ``repeats`` samples.

    Two warm-up runs come first (imports, caches, schema building). Each sample lasts at least
    ``min_time`` seconds of back-to-back runs; sampling stops early, after at least 3 samples, once
    ``max_time`` seconds were spent (slow frameworks at N=300). Every run of every sample is verified.
    """
    workload = Workload(n)
    run = prepare(workload)
    (warm_wall, _), warm_counts = _batch(run, workload, 2, loop)
    for c in warm_counts:
        verify(c, n)
    runs_per_sample = max(1, math.ceil(min_time / (warm_wall / 2)))
    wall: list[float] = []
    cpu: list[float] = []
    spent = 0.0
    while len(wall) < repeats and (len(wall) < 3 or spent < max_time):
        (wall_s, cpu_s), counts = _batch(run, workload, runs_per_sample, loop)
        for c in counts:
            verify(c, n)
        spent += wall_s
        wall.append(wall_s / (runs_per_sample * n) * 1e6)
        cpu.append(cpu_s / (runs_per_sample * n) * 1e6)
    return {
        "wall_us_per_step": statistics.median(wall),
        "cpu_us_per_step": statistics.median(cpu),
        "wall_samples": wall,
        "cpu_samples": cpu,
        "runs_per_sample": runs_per_sample,
    }


def run_all(
    prepare: Prepare, ns: list[int], *, repeats: int, min_time: float, max_time: float = 30.0
) -> dict[str, object]:
    """Measure every N; async adapters share one event loop for the whole process."""
    with asyncio.Runner() as loop:
        return {
            str(n): measure(prepare, n, repeats=repeats, min_time=min_time, max_time=max_time, loop=loop)
            for n in ns
        }

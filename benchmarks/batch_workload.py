"""The batch benchmark's workload and its agentkit runners (see benchmarks/batch.py).

Each task is one agent run of 3 steps on a scripted model that takes 5 ms per call: it calls the
``add`` tool twice, then answers. Run as ``python benchmarks/batch_workload.py RUNNER TASKS CONCURRENCY``
in a fresh interpreter; prints one JSON line: wall seconds, CPU seconds (this process; for the Ray
runner, every Ray process too, from its first result to its last), RSS before and at peak, and how
many runs answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agentkit import Agent, AssistantMessage, ModelRequest, tool  # noqa: E402
from agentkit.testing import ScriptedBackend, call  # noqa: E402

MODEL_LATENCY = 0.005
TOOL_CALLS = 2
ANSWER = "done"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def model(request: ModelRequest) -> Any:
    await asyncio.sleep(MODEL_LATENCY)
    step = sum(isinstance(m, AssistantMessage) for m in request.messages)
    return call("add", a=step, b=1) if step < TOOL_CALLS else ANSWER


class UnrecordedScriptedBackend(ScriptedBackend):
    """ScriptedBackend records every request for tests to inspect; over thousands of runs that record
    would be the biggest thing in memory, so this one forgets each request once answered."""

    async def complete(self, request: ModelRequest) -> Any:
        response = await super().complete(request)
        self.requests.clear()
        return response


def make_agent() -> Agent[Any, Any]:
    return Agent(model=UnrecordedScriptedBackend(model), tools=[add])


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def floor(tasks: int, concurrency: int) -> int:
    """What a user writes by hand: asyncio.gather of every run, a semaphore bounding them."""
    agent = make_agent()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> bool:
        async with gate:
            return (await agent.arun(f"task {i}")).output == ANSWER

    return sum(await asyncio.gather(*(one(i) for i in range(tasks))))


async def engine(tasks: int, concurrency: int, *, journal: str | None = None, out: str | None = None) -> int:
    from agentkit.batch import Batch, Task

    batch = Batch(make_agent(), concurrency=concurrency, journal=journal, out=out, force=True)
    answered = 0
    async for result in batch.results(Task(str(i), f"task {i}") for i in range(tasks)):
        answered += result.output == ANSWER
    return answered


def ray_processes_cpu() -> float:
    """CPU seconds of every process under this one (Ray's raylet, GCS, workers), dead ones included
    as far as the kernel reports them (children reaped by us)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def run_ray(tasks: int, concurrency: int) -> dict[str, Any]:
    """The Ray engine's steady state: wall and CPU (this process and every Ray process) from the first
    result to the last, so that the fixed start-up (``ray.init``, starting the actors) drops out."""
    import ray

    from agentkit.batch import Batch, Task
    from agentkit.batch.ray_engine import RayEngine

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    try:
        rss_after_init = rss_bytes()  # the driver's own growth, not Ray's libraries
        answered = 0
        marks: list[tuple[float, float]] = []
        batch = Batch(make_agent, engine=RayEngine(), concurrency=concurrency)
        for seen, result in enumerate(batch.run(Task(str(i), f"task {i}") for i in range(tasks)), 1):
            answered += result.output == ANSWER
            if seen in (1, tasks):  # measured before the batch ends and its worker processes go
                marks.append((time.perf_counter(), time.process_time() + ray_processes_cpu()))
        (wall0, cpu0), (wall1, cpu1) = marks
        return {
            "answered": answered,
            "wall": (wall1 - wall0) * tasks / (tasks - 1),
            "cpu": (cpu1 - cpu0) * tasks / (tasks - 1),
            "rss_before": rss_after_init,
        }
    finally:
        ray.shutdown()


def run_local(runner: str, tasks: int, concurrency: int, folder: str) -> int:
    if runner == "floor":
        return asyncio.run(floor(tasks, concurrency))
    if runner == "engine":
        return asyncio.run(engine(tasks, concurrency))
    if runner == "engine+journal":
        out = os.path.join(folder, f"results-{tasks}.jsonl")
        return asyncio.run(engine(tasks, concurrency, journal=out + ".journal", out=out))
    raise SystemExit(f"unknown runner {runner!r}")


def main(runner: str, tasks: int, concurrency: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        if runner != "ray":
            # A warm-up batch first: lazy imports, caches and the allocator's arenas are then in place,
            # so the RSS growth measured below is what the batch itself holds.
            run_local(runner, 2 * concurrency, concurrency, folder)
        rss_before = rss_bytes()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if runner == "ray":
            ray_figures = run_ray(tasks, concurrency)
            answered, wall, cpu = ray_figures["answered"], ray_figures["wall"], ray_figures["cpu"]
            rss_before = ray_figures["rss_before"]
        else:
            answered = run_local(runner, tasks, concurrency, folder)
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
    document = {
        "runner": runner,
        "tasks": tasks,
        "answered": answered,
        "wall": wall,
        "cpu": cpu,
        "rss_before": rss_before,
        "rss_peak": peak_rss_bytes(),
    }
    print(json.dumps(document))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))

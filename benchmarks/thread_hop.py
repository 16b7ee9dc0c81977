"""What handing a sync call to a worker thread and back costs: agentkit's tool threads against
``asyncio.to_thread``, with a direct call as the floor.

This is most of a step with a sync tool in ``overhead.py``. Process CPU time counts both threads; on a
VM the figure depends on whether the other vCPU is idle (waking it is what costs) or busy, so compare
the rows of one run, not runs.

    .venv/bin/python benchmarks/thread_hop.py
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from agentkit.tool_threads import ToolThreads


def _add() -> int:
    return 1 + 1


def _ways(pool: ToolThreads) -> dict[str, Callable[[], Awaitable[int] | int]]:
    return {
        "direct call (no thread)": _add,
        "agentkit ToolThreads.run": lambda: pool.run(_add),
        "asyncio.to_thread": lambda: asyncio.to_thread(_add),
    }


async def _measure(way: Callable[[], Awaitable[int] | int], calls: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        result = way()
        if not isinstance(result, int):
            result = await result
        assert result == 2
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5, help="the best of this many samples is shown")
    args = parser.parse_args()
    pool = ToolThreads()
    print("| round trip | CPU µs | wall µs |")
    print("|---|---|---|")
    for label, way in _ways(pool).items():
        samples = [asyncio.run(_measure(way, args.calls)) for _ in range(args.repeats)]
        cpu = min(s[0] for s in samples) / args.calls * 1e6
        wall = min(s[1] for s in samples) / args.calls * 1e6
        print(f"| {label} | {cpu:.1f} | {wall:.1f} |")


if __name__ == "__main__":
    main()

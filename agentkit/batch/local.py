"""The engine protocol, and the local engine: tasks on this process's event loop, ``concurrency`` at a time.

The local engine is a fixed set of ``concurrency`` worker coroutines pulling tasks from one shared
iterator and pushing results onto a bounded queue. Nothing is created per task beyond the run itself:
no task object per input line, no list of pending coroutines, so a million tasks cost what
``concurrency`` of them cost, and a slow consumer of the results holds the workers back (backpressure)
instead of letting results pile up.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from agentkit.batch.runner import AgentSource, TaskJournal, TaskOptions, build_agent, run_task
from agentkit.batch.task import BatchResult, Task

if TYPE_CHECKING:
    from agentkit.agent import Agent

_DONE = object()


class Engine(Protocol):
    """Runs tasks and yields their results in completion order.

    ``start`` connects to whatever the engine needs (it raises a ConfigurationError when that is
    unreachable, before anything is written); ``results`` pulls tasks from ``tasks`` only as fast as it
    runs them; ``stop`` releases what ``start`` took.
    """

    name: str

    def start(self) -> None: ...

    def results(
        self,
        agent: AgentSource,
        tasks: Iterator[Task],
        *,
        journal: TaskJournal | None,
        options: TaskOptions,
        concurrency: int,
    ) -> AsyncIterator[BatchResult]: ...

    def stop(self) -> None: ...


async def prepare(agent: Agent[Any, Any]) -> None:
    """Load a lazy backend (a local model) once, up front, off the event loop."""
    aload = getattr(agent.backend, "aload", None)
    if aload is not None and inspect.iscoroutinefunction(aload):
        await aload()


class LocalEngine:
    """Every task in this process, on one event loop (the default engine)."""

    name = "local"

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    async def results(
        self,
        agent: AgentSource,
        tasks: Iterator[Task],
        *,
        journal: TaskJournal | None,
        options: TaskOptions,
        concurrency: int,
    ) -> AsyncIterator[BatchResult]:
        built = build_agent(agent)
        await prepare(built)
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)

        async def worker() -> None:
            try:
                for task in tasks:  # one shared iterator: each task is taken by exactly one worker
                    await queue.put(await run_task(built, task, journal, options))
            except Exception as exc:  # noqa: BLE001 - the task source failed: end the batch with it
                await queue.put(exc)
            await queue.put(_DONE)

        workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        running = len(workers)
        try:
            while running:
                item = await queue.get()
                if item is _DONE:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

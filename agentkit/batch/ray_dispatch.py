"""Keeping Ray actors busy: tasks go out in chunks, results come back as they finish.

Ray's per-call cost (about 1.4 ms of CPU across its processes for a call and its reply, measured
here) would be most of what a short task costs, so the driver sends tasks in chunks of ``chunk_size``
(one call), and each actor streams the results back as they finish, several per reply when they
finish together (:meth:`~agentkit.batch.ray_actors.BatchWorker.run_chunk`). The driver keeps at most
``concurrency`` tasks out, sends the next chunk once ``chunk_size`` of them have come back (or the
input ran out), and pulls tasks from the lazy task stream only then: backpressure all the way to the
input file.

A worker that dies takes its chunk with it: Ray restarts the actor (``max_restarts=-1``), and the
driver sends the tasks of the chunk it has no result for again, to the other workers while that one
is restarting (they resume from the journal), up to ``task_retries`` times per task; then the task
comes back with a resumable error. A call refused because its actor is still restarting does not
count against the task: the actor is left alone for a while (``PAUSE_SECONDS``, doubling).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from agentkit.batch.runner import task_error
from agentkit.batch.task import BatchResult, Task

PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 8.0


def _refused(error: BaseException | None) -> bool:
    """A call the actor never ran: it was restarting (Ray says so with ActorUnavailableError)."""
    return error is not None and type(error).__name__ == "ActorUnavailableError"


@dataclass
class _Message:
    actor: int
    results: list[BatchResult]
    lost: list[Task]
    error: BaseException | None = None
    ended: bool = False


class Dispatcher:
    """One batch's traffic with its actors (see the module docstring)."""

    def __init__(
        self,
        actors: list[Any],
        tasks: Iterator[Task],
        *,
        concurrency: int,
        chunk_size: int,
        task_retries: int,
    ) -> None:
        self.actors = actors
        self.tasks = tasks
        self.concurrency = concurrency
        self.chunk_size = max(1, chunk_size)
        self.task_retries = task_retries
        self.load = [0] * len(actors)
        self.out = 0
        self.calls = 0
        self.exhausted = False
        self.again: deque[Task] = deque()
        self.failures: dict[str, int] = {}
        self.inbox: asyncio.Queue[_Message] = asyncio.Queue()
        self.consumers: set[asyncio.Task[None]] = set()
        self.paused_until = [0.0] * len(actors)
        self.pause = [PAUSE_SECONDS] * len(actors)
        self.wake_pending = False

    def _take(self, count: int) -> list[Task]:
        chunk: list[Task] = []
        while len(chunk) < count and self.again:
            chunk.append(self.again.popleft())
        while len(chunk) < count and not self.exhausted:
            task = next(self.tasks, None)
            if task is None:
                self.exhausted = True
            else:
                chunk.append(task)
        return chunk

    def _fill(self) -> None:
        while True:
            free = self.concurrency - self.out
            more_input = bool(self.again) or not self.exhausted
            if (
                free <= 0
                or not more_input
                or (free < self.chunk_size and self.out > 0 and not self.exhausted)
            ):
                return
            chunk = self._take(min(free, self.chunk_size))
            if not chunk:
                return
            index = min(range(len(self.actors)), key=self.load.__getitem__)
            self.load[index] += len(chunk)
            self.out += len(chunk)
            self.calls += 1
            consumer = asyncio.ensure_future(self._consume(index, chunk))
            self.consumers.add(consumer)
            consumer.add_done_callback(self.consumers.discard)

    async def _consume(self, index: int, chunk: list[Task]) -> None:
        waiting = {task.id: task for task in chunk}
        try:
            stream = self.actors[index].run_chunk.options(num_returns="streaming").remote(chunk)
            async for ref in stream:
                results = [r for r in await ref if waiting.pop(r.task_id, None) is not None]
                self.inbox.put_nowait(_Message(index, results, []))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the actor died: its unreported tasks go out again
            self.inbox.put_nowait(_Message(index, [], list(waiting.values()), exc))
            return
        self.inbox.put_nowait(_Message(index, [], list(waiting.values()), None, ended=True))

    def _settle(self, message: _Message) -> list[BatchResult]:
        """Account for a message; the results to hand on (lost tasks past their retries included)."""
        if message.actor < 0:  # a wake-up: paused actors may be back
            self.wake_pending = False
            return []
        if message.error is not None:  # leave the actor alone while Ray restarts it
            now = asyncio.get_running_loop().time()
            self.paused_until[message.actor] = now + self.pause[message.actor]
            self.pause[message.actor] = min(MAX_PAUSE_SECONDS, self.pause[message.actor] * 2)
        elif message.results:
            self.pause[message.actor] = PAUSE_SECONDS
        done = list(message.results)
        for task in message.lost:
            failures = self.failures.get(task.id, 0) + (0 if _refused(message.error) else 1)
            if message.error is None or failures > self.task_retries:
                self.failures.pop(task.id, None)
                error = message.error or RuntimeError("the worker ended its chunk without this task's result")
                done.append(
                    BatchResult(
                        task.id,
                        stop_reason="error",
                        error=task_error(error, resumable=True),
                        metadata=task.metadata,
                    )
                )
            else:
                self.failures[task.id] = failures
                self.again.append(task)
        released = len(message.results) + len(message.lost)
        self.load[message.actor] -= released
        self.out -= released
        for result in done:
            self.failures.pop(result.task_id, None)
        return done

    async def results(self) -> AsyncIterator[BatchResult]:
        self._fill()
        try:
            while self.out or self.again or self.wake_pending or not self.exhausted:
                for result in self._settle(await self.inbox.get()):
                    yield result
                self._fill()
        finally:
            for consumer in list(self.consumers):
                consumer.cancel()

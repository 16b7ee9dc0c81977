"""Worker threads for sync tools: keep the event loop free, and let go of tools that hang.

Why not ``asyncio.to_thread``: it runs on the loop's default executor, whose threads ``asyncio.run``
joins on the way out, so one sync tool that hangs past its timeout keeps ``Agent.run`` from returning
(and the interpreter from exiting) until the tool ends by itself, if ever. The executor also holds at
most ``min(32, cpus + 4)`` threads: that many hung tools and every later sync call waits forever.

Here every call gets an idle worker or a new one, a worker that outlives its caller (timeout,
cancellation) is simply abandoned, and workers are daemon threads, which the interpreter does not wait
for. An idle worker waits on its own queue, so a hand-over wakes exactly one thread; finished workers
are reused most-recent-first (their stacks are warm) and exit after ``IDLE_SECONDS`` unused. A bare
round trip costs half (busy machine) to three quarters (idle) of an ``asyncio.to_thread`` one on this
project's 2-vCPU machine (``benchmarks/thread_hop.py``), but it is still most of a step with a sync tool.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

IDLE_SECONDS = 30.0
"""How long an unused worker waits for work before it exits."""

_Job = tuple["asyncio.AbstractEventLoop", "asyncio.Future[Any]", contextvars.Context, Callable[[], Any]]


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():  # the caller gave up (timeout, cancellation): nobody wants the outcome
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


class _Worker(threading.Thread):
    def __init__(self, pool: ToolThreads) -> None:
        super().__init__(name=f"agentkit-tool-{pool.started}", daemon=True)
        self.pool = pool
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()

    def run(self) -> None:
        pool = self.pool
        while True:
            try:
                job = self.jobs.get(timeout=pool.idle_seconds)
            except queue.Empty:
                if pool.retire(self):
                    return
                continue  # handed a job just as the wait ran out: it is in the queue now
            loop, future, context, function = job
            value: Any = None
            error: BaseException | None = None
            if not future.done():  # a caller cancelled before the hand-over arrived: do not start it
                try:
                    value = context.run(function)
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task, which re-raises it
                    error = exc
            del job, function, context
            # Idle again before the caller hears back, so its next call finds this warm thread
            # instead of starting another; a job handed over meanwhile waits in the queue.
            pool.release(self)
            with contextlib.suppress(RuntimeError):  # the loop closed while the tool ran: nobody waits
                loop.call_soon_threadsafe(_settle, future, value, error)
            del future, value, error


class ToolThreads:
    """A pool of daemon worker threads that grows on demand; see the module docstring for why."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self.started = 0
        """Workers started so far (a new one only when none is idle)."""

    async def run(self, function: Callable[[], Any]) -> Any:
        """``function()`` on a worker thread, in a copy of the caller's context variables. Cancelling the
        caller abandons the call: the thread finishes (or hangs) on its own and nobody waits for it."""
        import asyncio  # not at module level: `import agentkit` stays free of it

        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = self._start()
        worker.jobs.put((loop, future, contextvars.copy_context(), function))
        return await future

    def _start(self) -> _Worker:
        with self._lock:
            self.started += 1
            worker = _Worker(self)
        worker.start()
        return worker

    def release(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _Worker) -> bool:
        """Remove an idle worker whose wait ran out; ``False`` if it was just handed a job."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False

    @property
    def idle(self) -> int:
        return len(self._idle)

    def _forget_workers(self) -> None:
        """In a forked child: the parent's threads do not exist here, so start afresh."""
        self._idle = []
        self._lock = threading.Lock()


tool_threads = ToolThreads()
"""The process-wide pool that ``Tool.invoke`` runs sync tools on."""

if hasattr(os, "register_at_fork"):  # a forked child would otherwise hand work to threads it lacks
    os.register_at_fork(after_in_child=tool_threads._forget_workers)

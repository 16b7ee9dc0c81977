"""Cooperative cancellation of a run, from any thread.

``token.cancel()`` stops the run at once: an in-flight model call or tool is interrupted, calls that
did not finish get a "cancelled" tool result (so the conversation stays valid to continue), and the
run returns with ``stop_reason == "cancelled"``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


class RunCancelled(Exception):
    """Raised inside the loop when the token fires; never escapes ``Agent.run``."""


class CancellationToken:
    """A thread-safe flag that wakes the event loops waiting on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def _subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        import asyncio  # loaded by the time a run waits on a token; not on `import agentkit`

        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            if self._cancelled:
                entry[1].set()
            else:
                self._waiters.append(entry)
        return entry

    def _unsubscribe(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def check(self) -> None:
        if self._cancelled:
            raise RunCancelled

    async def race(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless the token fires first; then cancel it and raise RunCancelled."""
        import asyncio

        self.check()
        task = asyncio.ensure_future(awaitable)
        entry = self._subscribe()
        waiter = asyncio.ensure_future(entry[1].wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        finally:
            waiter.cancel()
            self._unsubscribe(entry)
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise RunCancelled

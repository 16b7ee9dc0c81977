"""Cooperative cancellation of a run, from any thread.

``token.cancel()`` stops the run at once: an in-flight model call or tool is interrupted, calls that
did not finish get a "cancelled" tool result (so the conversation stays valid to continue), and the
run returns with ``stop_reason == "cancelled"``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from agentkit.errors import RunCancelled

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


class CancellationToken:
    """A thread-safe flag that wakes the event loops waiting on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._reason: str | None = None
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._children: list[CancellationToken] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def reason(self) -> str | None:
        """Why the token fired (``"cancelled"`` unless the canceller said otherwise), or ``None``."""
        return self._reason

    def cancel(self, reason: str = "cancelled") -> None:
        """Fire the token (and every token derived from it with :meth:`child`); the first reason stays."""
        with self._lock:
            if self._reason is None:
                self._reason = reason
            self._cancelled = True
            waiters, self._waiters = self._waiters, []
            children = list(self._children)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)
        for child in children:
            child.cancel(reason)

    def child(self) -> CancellationToken:
        """A token that fires when this one does, and can also fire alone (a run's own deadline, a
        child agent's run). Call :meth:`release` on it when its work is done."""
        token = CancellationToken()
        token._parent = self
        with self._lock:
            if not self._cancelled:
                self._children.append(token)
        if self._cancelled:
            token.cancel(self._reason or "cancelled")
        return token

    def release(self) -> None:
        """Detach a token made by :meth:`child` from its parent (the parent forgets it)."""
        parent = self._parent
        if parent is not None:
            with parent._lock:
                if self in parent._children:
                    parent._children.remove(self)
            self._parent = None

    _parent: CancellationToken | None = None

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

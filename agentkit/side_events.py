"""Events that tools hand to a watched run while they work (a tool's progress, a child agent's steps).

A tool that takes the run context gets ``RunContext.emit``; what it emits is queued here, through the
run's event loop when it comes from a sync tool's worker thread, and the loop yields it between the
events of the step (:meth:`SideEvents.until`). Kept only while someone watches the run (streaming).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from agentkit.cancellation import CancellationToken
from agentkit.events import AgentEvent
from agentkit.messages import ToolCall

T = TypeVar("T")


class SideEvents:
    """The queue of one run's side events, and the wake-up the loop waits on."""

    def __init__(self) -> None:
        self._queue: deque[tuple[ToolCall, AgentEvent]] = deque()
        self._ready: asyncio.Event | None = None
        self._owner: tuple[asyncio.AbstractEventLoop, int] | None = None

    def open(self) -> None:
        """Bind to the running event loop (called on it, as the run starts)."""
        self._owner = (asyncio.get_running_loop(), threading.get_ident())
        self._ready = asyncio.Event()

    def sink(self, call: ToolCall) -> Callable[[AgentEvent], None]:
        """``RunContext.emit`` for one call: its events are queued for :meth:`until`, through the event
        loop when they come from a sync tool's thread."""

        def emit(event: AgentEvent) -> None:
            owner = self._owner
            if owner is None:
                return
            loop, thread = owner
            if threading.get_ident() == thread:
                self._put(call, event)
            else:
                with contextlib.suppress(RuntimeError):  # the run's loop is closed: an abandoned tool
                    loop.call_soon_threadsafe(self._put, call, event)

        return emit

    def _put(self, call: ToolCall, event: AgentEvent) -> None:
        if self._ready is not None:
            self._queue.append((call, event))
            self._ready.set()

    async def until(
        self,
        waiting: asyncio.Future[Any],
        watched: set[int],
        guard: Callable[[Awaitable[Any]], Awaitable[Any]],
        cancel: CancellationToken | None,
    ) -> AsyncIterator[AgentEvent]:
        """Yield the events of the calls in ``watched`` (by id) until ``waiting`` is done; events of calls
        no longer running (a tool abandoned at its timeout) are dropped. ``guard`` races each wait
        against the run's cancellation."""
        queue, ready = self._queue, self._ready
        assert ready is not None
        while True:
            while queue:
                call, event = queue.popleft()
                if id(call) in watched:
                    yield event
            if waiting.done():
                return
            if cancel is not None:
                cancel.check()  # before the wait below, which a fired token would leave unawaited
            ready.clear()
            wakeup = asyncio.ensure_future(ready.wait())
            try:
                await guard(asyncio.wait((waiting, wakeup), return_when=asyncio.FIRST_COMPLETED))
            finally:
                wakeup.cancel()

"""Running agentkit's async runs from synchronous code: a coroutine to its result, an async iterator
to a plain iterator.

Both work inside a running event loop too (Jupyter, an async web handler calling sync code): the run
then happens on a worker thread with its own loop. Outside one, they run on the calling thread, so a
breakpoint in a tool stops where the user expects. Errors are raised as they are, with no chained
"no running event loop" in front of them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def loop_running() -> bool:
    """Whether this thread is inside a running event loop (where ``asyncio.run`` would refuse)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(make())`` here, or on a worker thread when a loop already runs on this one."""
    if not loop_running():
        return _run_here(make)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentkit-run") as pool:
        return pool.submit(_run_here, make).result()


def _run_here(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    results: list[T] = []

    async def main() -> None:
        # Handed over through a list, not as the task's return value: asyncio.run ends by swapping
        # the SIGINT handler, and the stdlib then builds repr() of the main task, which would include
        # the whole result (O(conversation) work for nothing).
        results.append(await make())

    asyncio.run(main())
    return results[0]


def iterate(make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """The items of ``make()``, one per ``next()``, driven on a private event loop.

    Stopping early (``break``, or dropping the iterator) closes the async iterator on that loop, so
    its cleanup runs (a run cancels what is in flight and keeps its conversation valid).
    """
    if not loop_running():
        yield from _drive(make, _call_here)
        return
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentkit-iter") as pool:

        def on_worker(function: Callable[..., Any], *args: Any) -> Any:
            return pool.submit(function, *args).result()

        yield from _drive(make, on_worker)


def _call_here(function: Callable[..., Any], *args: Any) -> Any:
    return function(*args)


async def _next(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


async def _close(iterator: AsyncIterator[Any]) -> None:
    if isinstance(iterator, AsyncGenerator):  # other async iterators have nothing to close
        await iterator.aclose()


def _drive(make: Callable[[], AsyncIterator[T]], call: Callable[..., Any]) -> Iterator[T]:
    runner = asyncio.Runner()
    iterator: AsyncIterator[T] | None = None
    try:
        iterator = make()
        while True:
            try:
                item: T = call(runner.run, _next(iterator))
            except StopAsyncIteration:
                return
            yield item
    finally:
        try:
            if iterator is not None:
                call(runner.run, _close(iterator))
        finally:
            call(runner.close)

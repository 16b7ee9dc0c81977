"""Sync tools run on agentkit's own daemon worker threads: a hung tool is abandoned, not waited for."""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from agentkit import Agent, tool
from agentkit.testing import ScriptedBackend, call
from agentkit.tool_threads import ToolThreads

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def test_a_run_returns_at_the_timeout_while_its_hung_sync_tool_still_blocks() -> None:
    release = threading.Event()

    @tool(timeout=0.1)
    def stuck() -> str:
        """Blocks until the test lets it go."""
        release.wait(30)
        return "late"

    started = time.perf_counter()
    try:
        agent: Agent[str, None] = Agent(model=ScriptedBackend([call("stuck"), "gave up"]), tools=[stuck])
        result = agent.run("go")
        elapsed = time.perf_counter() - started
        assert not release.is_set()  # the tool is still blocked: the run did not wait for it
    finally:
        release.set()
    assert (result.output, result.messages[-2].content) == (
        "gave up",
        "Tool 'stuck' did not finish within 0.1 s and was abandoned.",
    )
    assert elapsed < 10  # asyncio.to_thread would have held asyncio.run's exit for the full 30 s


def test_an_abandoned_hung_tool_does_not_keep_the_interpreter_alive() -> None:
    script = (
        "import time\n"
        "from agentkit import Agent, tool\n"
        "from agentkit.testing import ScriptedBackend, call\n"
        "@tool(timeout=0.1)\n"
        "def stuck() -> str:\n"
        "    '''Sleeps far past its timeout.'''\n"
        "    time.sleep(600)\n"
        "    return 'late'\n"
        "print(Agent(model=ScriptedBackend([call('stuck'), 'bye']), tools=[stuck]).run('go').output)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "bye"


def test_the_callers_context_variables_reach_the_worker() -> None:
    pool = ToolThreads()

    async def main() -> str:
        REQUEST_ID.set("req-7")
        return await pool.run(REQUEST_ID.get)  # type: ignore[no-any-return]

    assert asyncio.run(main()) == "req-7"


def test_idle_workers_are_reused_and_concurrent_calls_get_their_own() -> None:
    pool = ToolThreads()
    names: list[str] = []

    def where() -> str:
        time.sleep(0.05)
        return threading.current_thread().name

    async def main() -> None:
        for _ in range(3):
            names.append(await pool.run(where))
        names.extend(await asyncio.gather(pool.run(where), pool.run(where)))

    asyncio.run(main())
    assert len(set(names[:3])) == 1  # one worker served the sequential calls
    assert names[3] != names[4]  # the concurrent ones ran side by side
    assert pool.started == 2


def test_an_exception_in_the_tool_reaches_the_caller() -> None:
    pool = ToolThreads()

    def boom() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        asyncio.run(pool.run(boom))


def test_unused_workers_exit_after_the_idle_time() -> None:
    pool = ToolThreads(idle_seconds=0.05)
    asyncio.run(pool.run(lambda: None))
    deadline = time.monotonic() + 5
    while pool.idle and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool.idle == 0
    assert asyncio.run(pool.run(lambda: 42)) == 42  # a new worker starts when needed
    assert pool.started == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_starts_its_own_workers() -> None:
    @tool(timeout=5)  # without the fork handling the child's call never runs: it times out instead
    def pid() -> int:
        """The process id the tool ran in."""
        return os.getpid()

    def run_once() -> str:
        agent: Agent[str, None] = Agent(model=ScriptedBackend([call("pid"), "done"]), tools=[pid])
        return str(agent.run("go").messages[-2].content)

    assert run_once() == str(os.getpid())  # the parent now holds an idle worker
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, reported through the exit status
        try:
            ok = run_once() == str(os.getpid())
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


async def worker_done(pool: ToolThreads) -> None:
    """Wait until the pool's workers are all idle again."""
    while pool.idle < pool.started:  # noqa: ASYNC110 - polling another thread's state
        await asyncio.sleep(0.01)


def test_a_call_cancelled_before_a_worker_takes_it_never_starts() -> None:
    pool = ToolThreads()
    ran: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        given_up: asyncio.Future[Any] = loop.create_future()
        given_up.cancel()  # the caller's timeout or cancellation got there first
        worker = pool._start()
        worker.jobs.put((loop, given_up, contextvars.copy_context(), lambda: ran.append("cancelled one")))
        await worker_done(pool)
        await pool.run(lambda: ran.append("next one"))

    asyncio.run(main())
    assert ran == ["next one"]


def test_more_hung_calls_than_the_default_executor_holds_do_not_block_later_ones() -> None:
    pool = ToolThreads()
    release = threading.Event()
    hung = (os.cpu_count() or 1) + 5  # asyncio.to_thread's executor has min(32, cpus + 4) threads

    async def main() -> int:
        stuck = [asyncio.ensure_future(pool.run(lambda: release.wait(30))) for _ in range(hung)]
        await asyncio.sleep(0.05)
        try:
            return await asyncio.wait_for(pool.run(lambda: 7), timeout=10)
        finally:
            for task in stuck:
                task.cancel()  # abandoned; the threads end when released below

    try:
        assert asyncio.run(main()) == 7
        assert pool.started == hung + 1
    finally:
        release.set()

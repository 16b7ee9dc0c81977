"""A separate process for the kill -9 and concurrency tests: runs an agent on a scripted model with a
side-effecting tool, journaling to a session; started again, it resumes that session.

    python tests/integration/session_worker.py STORE SESSION WORKDIR STEPS WIDTH

STORE is a path or URL (``session_from_url``). WORKDIR/effects.log gets one line per tool execution
(the side effect the tests count), WORKDIR/progress one line per model call. A call ``slow_record``
waits for WORKDIR/go before it does anything. ``LEASE_TTL`` in the environment sets the lease's ttl.
A run refused because another holds the session prints ``busy: ...`` and exits with status 3.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from agentkit import Agent, AssistantMessage, ModelRequest, SessionBusyError, UserMessage, tool
from agentkit.sessions import session_from_url
from agentkit.testing import ScriptedBackend, call

TASK = "Record every number."


def main(store: str, session_id: str, workdir: str, steps: int, width: int) -> None:
    folder = Path(workdir)

    def effect(n: int) -> None:
        with open(folder / "effects.log", "a") as log:
            log.write(f"{n}\n")

    @tool
    def record(n: int) -> int:
        """Record n."""
        effect(n)
        return n

    @tool
    async def slow_record(n: int) -> int:
        """Record n once WORKDIR/go exists."""
        import asyncio

        while not (folder / "go").exists():  # noqa: ASYNC110 - another process creates it
            await asyncio.sleep(0.01)
        effect(n)
        return n

    def model(request: ModelRequest) -> Any:
        step = sum(isinstance(m, AssistantMessage) for m in request.messages)
        with open(folder / "progress", "a") as progress:
            progress.write(f"{step}\n")
        time.sleep(0.05)  # a model takes a while: the tests kill the process here
        if step >= steps:
            return "done"
        calls = [call("record", n=step * 100 + i) for i in range(width)]
        if step == 1 and width > 1:
            calls[-1] = call("slow_record", n=step * 100 + width - 1)
        return calls

    options = {"lease_ttl": float(os.environ["LEASE_TTL"])} if "LEASE_TTL" in os.environ else {}
    session = session_from_url(store, session_id, **options)
    started = any(isinstance(m, UserMessage) for m in session.load())
    agent = Agent(model=ScriptedBackend(model), tools=[record, slow_record], max_steps=steps + 2)
    try:
        result = agent.run(None if started else TASK, session=session)
    except SessionBusyError as exc:
        print(f"busy: {exc}", flush=True)
        sys.exit(3)
    print(result.output, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))

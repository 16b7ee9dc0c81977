"""A separate process for the kill -9 test of a multi-agent run: a parent that records a number with
its own tool, then asks a child agent (a tool) that records several numbers over several steps; both
journal to one session. Started again, it resumes that session.

    python tests/integration/multi_agent_worker.py STORE SESSION WORKDIR

WORKDIR/effects.log gets one line per tool execution (``parent:N`` or ``child:N``, what the test
counts), WORKDIR/progress one line per model call (``parent:STEP`` or ``child:STEP``). In the child's
step 2 one call waits for WORKDIR/go before it records.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from agentkit import Agent, AssistantMessage, ModelRequest, UserMessage, tool
from agentkit.sessions import session_from_url
from agentkit.testing import ScriptedBackend, call

CHILD_STEPS, WIDTH = 4, 2


def main(store: str, session_id: str, workdir: str) -> None:
    folder = Path(workdir)

    def note(name: str, text: str) -> None:
        with open(folder / name, "a") as file:
            file.write(text + "\n")

    def recorder(who: str) -> Any:
        @tool(name=f"record_{who}")
        def record(n: int) -> int:
            """Record n."""
            note("effects.log", f"{who}:{n}")
            return n

        return record

    def model(who: str, script: Any) -> ScriptedBackend:
        def reply(request: ModelRequest) -> Any:
            step = sum(isinstance(m, AssistantMessage) for m in request.messages)
            note("progress", f"{who}:{step}")
            time.sleep(0.05)  # the test kills the process while a model "thinks"
            return script(step)

        return ScriptedBackend(reply)

    @tool
    async def slow_record(n: int) -> int:
        """Record n once WORKDIR/go exists (the test kills the process while this waits)."""
        import asyncio

        while not (folder / "go").exists():  # noqa: ASYNC110 - the test creates it
            await asyncio.sleep(0.01)
        note("effects.log", f"child:{n}")
        return n

    def child_script(step: int) -> Any:
        if step >= CHILD_STEPS:
            return "child done"
        calls = [call("record_child", n=step * 10 + i) for i in range(WIDTH)]
        if step == 2:  # one call of this step waits: a kill here is a kill mid-tool
            calls[-1] = call("slow_record", n=step * 10 + WIDTH - 1)
        return calls

    def parent_script(step: int) -> Any:
        return [call("record_parent", n=1), call("recorder", task="record numbers"), "all done"][min(step, 2)]

    child = Agent(
        model("child", child_script),
        name="recorder",
        description="Records numbers.",
        tools=[recorder("child"), slow_record],
        max_steps=CHILD_STEPS + 2,
    )
    parent = Agent(model("parent", parent_script), name="parent", tools=[recorder("parent"), child.as_tool()])
    session = session_from_url(store, session_id)
    started = any(isinstance(m, UserMessage) for m in session.load())
    result = parent.run(None if started else "Record everything.", session=session)
    print(result.output, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])

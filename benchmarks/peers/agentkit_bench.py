"""agentkit: Agent + ScriptedBackend with a function script, run with ``await agent.arun``."""

from __future__ import annotations

from agentkit import Agent, ToolCall, ToolMessage, tool
from agentkit.backends import ModelRequest
from agentkit.testing import ScriptedBackend
from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("agentkit",)


def prepare(workload: Workload, *, inline: bool = False, context: bool = True) -> RunOnce:
    """The default: a sync tool runs in a worker thread; ``inline=True`` calls it on the loop;
    ``context=False`` switches context management off."""

    @tool(inline=inline)
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return workload.add(a, b)

    def script(request: ModelRequest) -> ToolCall | str:
        kind, args, call_id = workload.next_action()
        if kind == "call":
            return ToolCall(id=call_id, name="add", arguments=args)
        return FINAL_ANSWER

    backend = ScriptedBackend(script)
    agent: Agent[str, None] = Agent(
        model=backend,
        tools=[add],
        system_prompt="You add numbers.",
        max_steps=workload.n + 5,
        context=context,
    )

    async def run() -> Counts:
        result = await agent.arun(PROMPT)
        backend.requests.clear()  # the backend records every request; don't let it grow across runs
        return Counts(
            model_calls=workload.model_calls,
            tool_calls=workload.tool_calls,
            framework_steps=result.steps,
            framework_tool_results=sum(isinstance(m, ToolMessage) for m in result.messages),
            output=result.output if result.stop_reason == "final_answer" else result.stop_reason,
        )

    return run

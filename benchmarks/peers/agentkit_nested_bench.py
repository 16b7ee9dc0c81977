"""agentkit, nested: the parent's one tool is a child agent (``child.as_tool``) that answers at once.

The same workload as agentkit_bench, but each of the N-1 tool calls runs a whole child agent: a nested
run with its own messages, its place in the run tree (path, usage, budget) and one scripted step that
answers with the sum. Beside the plain row, the difference is the cost of one nested call.
"""

from __future__ import annotations

from pydantic import BaseModel

from agentkit import Agent, ToolCall, ToolMessage, UserMessage
from agentkit.backends import ModelRequest
from agentkit.testing import ScriptedBackend
from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("agentkit",)


class Numbers(BaseModel):
    a: int
    b: int


def prepare(workload: Workload) -> RunOnce:
    def child_script(request: ModelRequest) -> str:
        task = next(m.content for m in reversed(request.messages) if isinstance(m, UserMessage))
        numbers = Numbers.model_validate_json(task)
        return str(workload.add(numbers.a, numbers.b))

    child_backend = ScriptedBackend(child_script)
    child: Agent[str, None] = Agent(
        model=child_backend, name="add", description="Adds two integers.", max_steps=3
    )

    def script(request: ModelRequest) -> ToolCall | str:
        kind, args, call_id = workload.next_action()
        if kind == "call":
            return ToolCall(id=call_id, name="add", arguments=args)
        return FINAL_ANSWER

    backend = ScriptedBackend(script)
    agent: Agent[str, None] = Agent(
        model=backend,
        tools=[child.as_tool(input_type=Numbers)],
        system_prompt="You add numbers.",
        max_steps=workload.n + 5,
    )

    async def run() -> Counts:
        result = await agent.arun(PROMPT)
        backend.requests.clear()  # the backends record every request; don't let them grow across runs
        child_backend.requests.clear()
        return Counts(
            model_calls=workload.model_calls,
            tool_calls=workload.tool_calls,
            framework_steps=result.steps,
            framework_tool_results=sum(isinstance(m, ToolMessage) for m in result.messages),
            output=result.output if result.stop_reason == "final_answer" else result.stop_reason,
        )

    return run

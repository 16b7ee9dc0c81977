"""agentkit, handoffs: two agents that hand the conversation to each other, one handoff per step.

The same N-step workload, but each of the N-1 tool calls is a ``transfer_to_<other>`` call: the
conversation passes to the other agent (its system prompt and tools) and its model takes the next step.
The adapter counts a handoff each time the model that answers changes, the same way for every framework.
"""

from __future__ import annotations

from agentkit import Agent, ToolCall, ToolMessage
from agentkit.backends import ModelRequest
from agentkit.testing import ScriptedBackend
from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("agentkit",)


class Switches:
    """Which agent's model answered last; a change of model is a handoff that really happened."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.last = ""

    def answered_by(self, name: str) -> None:
        if self.last and name != self.last:
            self.workload.tool_calls += 1
        self.last = name


def prepare(workload: Workload) -> RunOnce:
    switches = Switches(workload)
    backends: list[ScriptedBackend] = []

    def model_of(name: str, other: str) -> ScriptedBackend:
        def script(request: ModelRequest) -> ToolCall | str:
            switches.answered_by(name)
            kind, _, call_id = workload.next_action()
            if kind == "call":
                return ToolCall(id=call_id, name=f"transfer_to_{other}", arguments={})
            return FINAL_ANSWER

        backend = ScriptedBackend(script)
        backends.append(backend)
        return backend

    ping: Agent[str, None] = Agent(
        model=model_of("ping", "pong"),
        name="ping",
        description="Ping.",
        max_steps=workload.n + 5,
        max_handoffs=workload.n,
    )
    pong: Agent[str, None] = Agent(
        model=model_of("pong", "ping"),
        name="pong",
        description="Pong.",
        handoffs=[ping],
        max_steps=workload.n + 5,
        max_handoffs=workload.n,
    )
    ping.add_handoffs(pong)

    async def run() -> Counts:
        switches.last = ""
        result = await ping.arun(PROMPT)
        for backend in backends:
            backend.requests.clear()
        return Counts(
            model_calls=workload.model_calls,
            tool_calls=workload.tool_calls,
            framework_steps=result.steps,
            framework_tool_results=sum(isinstance(m, ToolMessage) for m in result.messages),
            output=result.output if result.stop_reason == "final_answer" else result.stop_reason,
        )

    return run

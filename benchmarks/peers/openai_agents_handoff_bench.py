"""openai-agents, handoffs: two agents that hand the conversation to each other, one handoff per step.

The same workload as agentkit_handoff_bench: each of the N-1 tool calls is a ``transfer_to_<other>``
call; a handoff is counted each time the model that answers changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agents import Agent, Model, ModelResponse, RunConfig, Runner, Usage
from agents.items import HandoffOutputItem
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from benchmarks.peers.agentkit_handoff_bench import Switches
from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("openai-agents",)


class PingPongModel(Model):
    def __init__(self, workload: Workload, switches: Switches, name: str, other: str) -> None:
        self.workload = workload
        self.switches = switches
        self.name = name
        self.other = other

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.switches.answered_by(self.name)
        kind, _, call_id = self.workload.next_action()
        output: Any
        if kind == "call":
            output = ResponseFunctionToolCall(
                type="function_call", name=f"transfer_to_{self.other}", arguments="{}", call_id=call_id
            )
        else:
            output = ResponseOutputMessage(
                id="msg_final",
                type="message",
                role="assistant",
                status="completed",
                content=[ResponseOutputText(type="output_text", text=FINAL_ANSWER, annotations=[])],
            )
        return ModelResponse(output=[output], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the benchmark does not stream")


def prepare(workload: Workload) -> RunOnce:
    switches = Switches(workload)
    ping = Agent(
        name="ping", handoff_description="Ping.", model=PingPongModel(workload, switches, "ping", "pong")
    )
    pong = Agent(
        name="pong",
        handoff_description="Pong.",
        model=PingPongModel(workload, switches, "pong", "ping"),
        handoffs=[ping],
    )
    ping.handoffs.append(pong)
    config = RunConfig(tracing_disabled=True)

    async def run() -> Counts:
        switches.last = ""
        result = await Runner.run(ping, PROMPT, max_turns=workload.n + 5, run_config=config)
        return Counts(
            model_calls=workload.model_calls,
            tool_calls=workload.tool_calls,
            framework_steps=len(result.raw_responses),
            framework_tool_results=sum(isinstance(i, HandoffOutputItem) for i in result.new_items),
            output=result.final_output,
        )

    return run

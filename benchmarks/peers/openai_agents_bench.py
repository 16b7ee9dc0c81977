"""openai-agents: Agent with a custom Model implementing ``get_response``, run with ``Runner.run``.

Tracing is disabled through RunConfig: there is no network here to export traces to, and leaving it off
only makes this peer faster.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents import Agent, Model, ModelResponse, RunConfig, Runner, Usage, function_tool
from agents.items import ToolCallOutputItem
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("openai-agents",)


class ScriptedModel(Model):
    def __init__(self, workload: Workload) -> None:
        self.workload = workload

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        kind, arguments, call_id = self.workload.next_action()
        output: Any
        if kind == "call":
            output = ResponseFunctionToolCall(
                type="function_call", name="add", arguments=json.dumps(arguments), call_id=call_id
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
    @function_tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return workload.add(a, b)

    agent = Agent(name="adder", instructions="You add numbers.", model=ScriptedModel(workload), tools=[add])
    config = RunConfig(tracing_disabled=True)

    async def run() -> Counts:
        result = await Runner.run(agent, PROMPT, max_turns=workload.n + 5, run_config=config)
        return Counts(
            model_calls=workload.model_calls,
            tool_calls=workload.tool_calls,
            framework_steps=len(result.raw_responses),
            framework_tool_results=sum(isinstance(i, ToolCallOutputItem) for i in result.new_items),
            output=result.final_output,
        )

    return run

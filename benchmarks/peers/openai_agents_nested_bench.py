"""openai-agents, nested: the parent's one tool is a child agent (``Agent.as_tool``) that answers at once.

The same workload as openai_agents_bench; each of the N-1 tool calls runs the child agent through the
SDK's own nested run, whose scripted model answers at once with the sum.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents import Agent, Model, ModelResponse, RunConfig, Runner, Usage
from agents.items import ToolCallOutputItem
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("openai-agents",)


def _text(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id="msg",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


class ParentModel(Model):
    def __init__(self, workload: Workload) -> None:
        self.workload = workload

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        kind, arguments, call_id = self.workload.next_action()
        output: Any
        if kind == "call":
            task = json.dumps({"input": json.dumps(arguments)})
            output = ResponseFunctionToolCall(
                type="function_call", name="add", arguments=task, call_id=call_id
            )
        else:
            output = _text(FINAL_ANSWER)
        return ModelResponse(output=[output], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the benchmark does not stream")


class ChildModel(Model):
    """Answers at once: the sum of the numbers in the task it was given."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        task = input if isinstance(input, str) else input[-1]["content"]
        numbers = json.loads(task)
        return ModelResponse(
            output=[_text(str(self.workload.add(numbers["a"], numbers["b"])))],
            usage=Usage(),
            response_id=None,
        )

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the benchmark does not stream")


def prepare(workload: Workload) -> RunOnce:
    child = Agent(name="adder", instructions="Add the two integers.", model=ChildModel(workload))
    agent = Agent(
        name="parent",
        instructions="You add numbers.",
        model=ParentModel(workload),
        tools=[child.as_tool(tool_name="add", tool_description="Adds two integers.")],
    )
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

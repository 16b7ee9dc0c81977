"""pydantic-ai: Agent with a FunctionModel, run with ``await agent.run``; request limit lifted."""

from __future__ import annotations

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import UsageLimits

from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("pydantic-ai-slim",)


def prepare(workload: Workload) -> RunOnce:
    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        kind, args, call_id = workload.next_action()
        if kind == "call":
            return ModelResponse(parts=[ToolCallPart(tool_name="add", args=args, tool_call_id=call_id)])
        return ModelResponse(parts=[TextPart(FINAL_ANSWER)])

    agent = Agent(FunctionModel(model), instructions="You add numbers.")

    @agent.tool_plain
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return workload.add(a, b)

    limits = UsageLimits(request_limit=workload.n + 5)

    async def run() -> Counts:
        result = await agent.run(PROMPT, usage_limits=limits)
        messages = result.all_messages()
        returns = sum(
            1
            for m in messages
            for p in getattr(m, "parts", ())
            if isinstance(p, ToolReturnPart) and p.tool_name == "add"
        )
        return Counts(
            model_calls=workload.model_calls,
            tool_calls=workload.tool_calls,
            framework_steps=result.usage.requests,
            framework_tool_results=returns,
            output=result.output,
        )

    return run

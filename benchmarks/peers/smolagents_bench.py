"""smolagents: ToolCallingAgent with a custom Model whose ``generate`` returns tool calls.

The answer is a call of smolagents' built-in ``final_answer`` tool, which is how ToolCallingAgent ends a
run; logging is off (``LogLevel.OFF``) so terminal rendering is not timed.
"""

from __future__ import annotations

from typing import Any

from smolagents import ToolCallingAgent, tool
from smolagents.memory import ActionStep
from smolagents.models import (
    ChatMessage,
    ChatMessageToolCall,
    ChatMessageToolCallFunction,
    MessageRole,
    Model,
)
from smolagents.monitoring import LogLevel

from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("smolagents",)


class ScriptedModel(Model):
    def __init__(self, workload: Workload) -> None:
        super().__init__(model_id="scripted")
        self.workload = workload

    def generate(self, messages: list[Any], **kwargs: Any) -> ChatMessage:
        kind, args, call_id = self.workload.next_action()
        if kind == "call":
            name, arguments = "add", args
        else:
            name, arguments, call_id = "final_answer", {"answer": FINAL_ANSWER}, "call_final"
        function = ChatMessageToolCallFunction(name=name, arguments=arguments)
        return ChatMessage(
            role=MessageRole.ASSISTANT,
            content=None,
            tool_calls=[ChatMessageToolCall(function=function, id=call_id, type="function")],
        )


def prepare(workload: Workload) -> RunOnce:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers.

        Args:
            a: first number
            b: second number
        """
        return workload.add(a, b)

    agent = ToolCallingAgent(
        tools=[add],
        model=ScriptedModel(workload),
        max_steps=workload.n + 5,
        verbosity_level=LogLevel.OFF,
    )

    def run() -> Counts:
        output = agent.run(PROMPT, reset=True)
        steps = [s for s in agent.memory.steps if isinstance(s, ActionStep)]
        tool_results = sum(
            1 for s in steps for c in (s.tool_calls or []) if c.name == "add" and s.observations is not None
        )
        return Counts(
            model_calls=workload.model_calls,
            tool_calls=workload.tool_calls,
            framework_steps=len(steps),
            framework_tool_results=tool_results,
            output=output,
        )

    return run

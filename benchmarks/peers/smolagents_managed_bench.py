"""smolagents, nested: the parent's one tool is a managed agent that answers at once.

The same workload as smolagents_bench; the parent ToolCallingAgent gets the child through
``managed_agents=[...]`` and calls it by name with a task, as smolagents' managed agents are called. The
child is a ToolCallingAgent whose scripted model calls ``final_answer`` at once with the sum.
"""

from __future__ import annotations

import json
from typing import Any

from smolagents import ToolCallingAgent
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


def _call(name: str, arguments: dict[str, Any], call_id: str) -> ChatMessage:
    function = ChatMessageToolCallFunction(name=name, arguments=arguments)
    return ChatMessage(
        role=MessageRole.ASSISTANT,
        content=None,
        tool_calls=[ChatMessageToolCall(function=function, id=call_id, type="function")],
    )


class ParentModel(Model):
    def __init__(self, workload: Workload) -> None:
        super().__init__(model_id="scripted")
        self.workload = workload

    def generate(self, messages: list[Any], **kwargs: Any) -> ChatMessage:
        kind, args, call_id = self.workload.next_action()
        if kind == "call":
            return _call("add", {"task": json.dumps(args)}, call_id)
        return _call("final_answer", {"answer": FINAL_ANSWER}, "call_final")


class ChildModel(Model):
    """Reads the two numbers from the task (the JSON object the parent sent) and answers at once."""

    def __init__(self, workload: Workload) -> None:
        super().__init__(model_id="scripted-child")
        self.workload = workload
        self.decoder = json.JSONDecoder()

    def generate(self, messages: list[Any], **kwargs: Any) -> ChatMessage:
        text = "".join(
            part.get("text", "") if isinstance(part, dict) else str(part)
            for message in messages
            for part in (message.content if isinstance(message.content, list) else [message.content or ""])
        )
        numbers, _ = self.decoder.raw_decode(text, text.index('{"a"'))
        total = self.workload.add(numbers["a"], numbers["b"])
        return _call("final_answer", {"answer": str(total)}, "call_child")


def prepare(workload: Workload) -> RunOnce:
    child = ToolCallingAgent(
        tools=[],
        model=ChildModel(workload),
        name="add",
        description="Adds two integers given as a JSON object with keys a and b.",
        max_steps=3,
        verbosity_level=LogLevel.OFF,
    )
    agent = ToolCallingAgent(
        tools=[],
        managed_agents=[child],
        model=ParentModel(workload),
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

"""LangGraph: ``create_react_agent`` with a fake chat model that binds tools, run with ``invoke``.

The fake model is a BaseChatModel whose ``bind_tools`` returns itself and whose ``_generate`` returns the
scripted AIMessage with tool calls; recursion_limit is raised so N=300 steps fit.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

from benchmarks.peers.common import FINAL_ANSWER, PROMPT, Counts, RunOnce, Workload

PACKAGES = ("langgraph", "langchain-core")


class ScriptedChatModel(BaseChatModel):
    workload: Any

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        kind, args, call_id = self.workload.next_action()
        if kind == "call":
            message = AIMessage(content="", tool_calls=[{"name": "add", "args": args, "id": call_id}])
        else:
            message = AIMessage(content=FINAL_ANSWER)
        return ChatResult(generations=[ChatGeneration(message=message)])


def prepare(workload: Workload) -> RunOnce:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return workload.add(a, b)

    graph = create_react_agent(ScriptedChatModel(workload=workload), tools=[add], prompt="You add numbers.")
    config = {"recursion_limit": 2 * workload.n + 10}

    def run() -> Counts:
        state = graph.invoke({"messages": [("user", PROMPT)]}, config=config)
        messages = state["messages"]
        return Counts(
            model_calls=workload.model_calls,
            tool_calls=workload.tool_calls,
            framework_steps=sum(isinstance(m, AIMessage) for m in messages),
            framework_tool_results=sum(isinstance(m, ToolMessage) for m in messages),
            output=messages[-1].content,
        )

    return run

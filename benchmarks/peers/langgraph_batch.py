"""LangGraph's own batch API on the batch benchmark's workload (see benchmarks/batch.py).

``create_react_agent`` with a fake chat model whose async ``_agenerate`` waits 5 ms, then calls ``add``
twice and answers; ``graph.abatch(inputs, config={"max_concurrency": C})`` runs every task. Run in the
peers' venv: ``python benchmarks/peers/langgraph_batch.py TASKS CONCURRENCY``; prints one JSON line
like benchmarks/batch_workload.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
import warnings
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

MODEL_LATENCY = 0.005
TOOL_CALLS = 2
ANSWER = "done"


class SlowScriptedModel(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> SlowScriptedModel:
        return self

    def _reply(self, messages: list[BaseMessage]) -> ChatResult:
        step = sum(isinstance(m, AIMessage) for m in messages)
        if step < TOOL_CALLS:
            message = AIMessage(
                content="", tool_calls=[{"name": "add", "args": {"a": step, "b": 1}, "id": f"c{step}"}]
            )
        else:
            message = AIMessage(content=ANSWER)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        time.sleep(MODEL_LATENCY)
        return self._reply(messages)

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        await asyncio.sleep(MODEL_LATENCY)
        return self._reply(messages)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def run(tasks: int, concurrency: int) -> int:
    with warnings.catch_warnings():  # moved to langchain.agents in LangGraph 1.0; still the graph's API
        warnings.simplefilter("ignore")
        graph = create_react_agent(SlowScriptedModel(), tools=[add])
    inputs = [{"messages": [("user", f"task {i}")]} for i in range(tasks)]
    states = await graph.abatch(inputs, config={"max_concurrency": concurrency, "recursion_limit": 20})
    return sum(state["messages"][-1].content == ANSWER for state in states)


def main(tasks: int, concurrency: int) -> None:
    asyncio.run(run(2 * concurrency, concurrency))  # warm-up, as for agentkit's runners
    rss_before = rss_bytes()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    answered = asyncio.run(run(tasks, concurrency))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "runner": "langgraph",
                "tasks": tasks,
                "answered": answered,
                "wall": wall,
                "cpu": cpu,
                "rss_before": rss_before,
                "rss_peak": peak,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))

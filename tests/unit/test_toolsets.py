"""Agent(toolsets=...): tools that exist only while a toolset is open are opened per run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest

from agentkit import Agent, BackendError, Tool, ToolDefinitionError, tool
from agentkit.events import FinalOutput
from agentkit.testing import ScriptedBackend, call
from agentkit.toolset import Toolset


class CountingToolset:
    """A toolset whose tool works only while it is open, recording opens and closes."""

    def __init__(self, name: str = "ping") -> None:
        self.opened = 0
        self.closed = 0
        self.is_open = False

        @tool(name=name)
        def ping() -> str:
            """Answer pong while open."""
            if not self.is_open:
                raise RuntimeError("used while closed")
            return "pong"

        self.tool = ping

    @asynccontextmanager
    async def tools_for_run(self) -> AsyncIterator[Sequence[Tool]]:
        self.opened += 1
        self.is_open = True
        try:
            yield [self.tool]
        finally:
            self.is_open = False
            self.closed += 1


def test_toolset_is_opened_for_each_run_and_closed_after() -> None:
    toolset = CountingToolset()
    assert isinstance(toolset, Toolset)
    backend = ScriptedBackend([call("ping"), "got pong", call("ping"), "again"])
    agent = Agent(model=backend, toolsets=[toolset], tool_choice="ping")
    assert agent.run("1").output == "got pong"
    assert (toolset.opened, toolset.closed) == (1, 1)
    assert agent.run("2").output == "again"
    assert (toolset.opened, toolset.closed) == (2, 2)
    assert backend.requests[0].tools[0].name == "ping"
    assert backend.requests[1].messages[-1].content == "pong"
    assert "ping" not in agent.registry  # the agent's own registry is left as it was


async def test_toolset_is_closed_when_the_run_fails_and_in_streams() -> None:
    toolset = CountingToolset()
    failing = Agent(model=ScriptedBackend([RuntimeError("backend down")]), toolsets=[toolset])
    with pytest.raises(BackendError, match="backend down"):
        await failing.arun("x")
    assert (toolset.opened, toolset.closed) == (1, 1)

    streaming = Agent(model=ScriptedBackend([call("ping"), "done"]), toolsets=[toolset])
    events = [event async for event in streaming.run_stream("x")]
    assert isinstance(events[-1], FinalOutput) and events[-1].result.output == "done"
    assert (toolset.opened, toolset.closed) == (2, 2)


async def test_clash_with_an_agent_tool_is_a_definition_error() -> None:
    @tool
    def ping() -> str:
        """A local tool with the toolset's name."""
        return "local"

    toolset = CountingToolset()
    agent = Agent(model=ScriptedBackend(["unused"]), tools=[ping], toolsets=[toolset])
    with pytest.raises(ToolDefinitionError, match="already registered"):
        await agent.arun("x")
    assert toolset.closed == 1

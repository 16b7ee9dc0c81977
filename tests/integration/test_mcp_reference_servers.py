"""MCPToolset against the MCP reference server from npm, server-everything (tests/integration/mcp_npm):
over stdio, streamable HTTP and the legacy HTTP+SSE transport; its task-only tool, its
long-running-operation tool (progress notifications), and schema conversion across runs."""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest

from agentkit import (
    Agent,
    AgentEvent,
    ToolCallFinished,
    ToolCallStarted,
    ToolMessage,
    ToolProgress,
    ToolRegistry,
)
from agentkit.backends.base import ModelRequest
from agentkit.cli.console import PlainRenderer
from agentkit.mcp import MCPToolset
from agentkit.testing import ScriptedBackend, call
from agentkit.tracing import observe_run
from tests.integration.mcp_reference import everything_http, everything_stdio

# What server-everything 2026.8.31 lists to a client without roots, sampling or elicitation, minus
# simulate-research-query, which it serves only as an MCP task.
EVERYTHING_TOOLS = {
    "echo",
    "get-annotated-message",
    "get-env",
    "get-resource-links",
    "get-resource-reference",
    "get-structured-content",
    "get-sum",
    "get-tiny-image",
    "gzip-file-as-resource",
    "toggle-simulated-logging",
    "toggle-subscriber-updates",
    "trigger-long-running-operation",
}


def answer_with_last_result(first: Any) -> Any:
    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return first
        message = request.messages[-1]
        assert isinstance(message, ToolMessage) and not message.is_error, message
        return message.content

    return script


async def test_stdio_tools_keep_their_names_and_the_task_only_tool_is_skipped() -> None:
    async with MCPToolset.stdio(everything_stdio(), connect_timeout=60) as toolset:
        names = {t.name for t in toolset.tools}
        total = await ToolRegistry(toolset.tools).execute(call("get-sum", a=2, b=3))
        skipped = dict(toolset.skipped)
    assert names == EVERYTHING_TOOLS  # valid MCP names such as get-sum are kept as they are
    assert list(skipped) == ["simulate-research-query"]
    assert "taskSupport='required'" in skipped["simulate-research-query"]
    assert not total.is_error and "5" in total.content


@pytest.mark.slow
async def test_legacy_sse_server_is_reached_at_its_sse_url() -> None:
    with everything_http("sse") as base:
        async with MCPToolset.from_spec(f"{base}/sse", prefix="ev", connect_timeout=60) as toolset:
            names = {t.name for t in toolset.tools}
            echoed = await ToolRegistry(toolset.tools).execute(call("ev_echo", message="over sse"))
    assert {f"ev_{name}" for name in EVERYTHING_TOOLS} <= names
    assert (echoed.is_error, echoed.content) == (False, "Echo: over sse")


@pytest.mark.slow
async def test_streamable_http_server_still_works() -> None:
    with everything_http("streamableHttp") as base:
        agent = Agent(
            ScriptedBackend(answer_with_last_result(call("echo", message="over http"))),
            toolsets=[MCPToolset.from_spec(f"{base}/mcp", connect_timeout=60)],
        )
        result = await agent.arun("echo")
    assert result.output == "Echo: over http"


async def test_long_running_operation_progress_reaches_the_events_and_the_console() -> None:
    operation = call("trigger-long-running-operation", duration=1.5, steps=3)
    agent = Agent(
        ScriptedBackend(answer_with_last_result(operation)),
        toolsets=[MCPToolset.stdio(everything_stdio(), connect_timeout=60)],
    )
    plain = io.StringIO()
    events: list[AgentEvent] = [event async for event in observe_run(agent, "go", [PlainRenderer(plain)])]
    tool_events = [e for e in events if isinstance(e, ToolCallStarted | ToolProgress | ToolCallFinished)]
    assert isinstance(tool_events[0], ToolCallStarted) and isinstance(tool_events[-1], ToolCallFinished)
    progress = [(e.progress, e.total) for e in tool_events if isinstance(e, ToolProgress)]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert "Steps: 3" in tool_events[-1].result.content
    lines = plain.getvalue().splitlines()
    assert "[step 1] progress trigger-long-running-operation: 1/3 (33%)" in lines
    assert "[step 1] progress trigger-long-running-operation: 3/3 (100%)" in lines


@pytest.mark.slow
def test_schemas_are_converted_once_not_on_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def counting(original: Any) -> Any:
        def build(name: str, parameters: dict[str, Any]) -> Any:
            built.append(name)
            return original(name, parameters)

        return build

    for name in ("agentkit.tool", "agentkit.mcp.toolset"):  # (agentkit.tool is also the decorator)
        module = importlib.import_module(name)
        if hasattr(module, "json_schema_validator"):
            monkeypatch.setattr(module, "json_schema_validator", counting(module.json_schema_validator))
    toolset = MCPToolset.stdio(everything_stdio(), connect_timeout=60)
    agent = Agent(ScriptedBackend(answer_with_last_result(call("get-sum", a=1, b=2))), toolsets=[toolset])
    first = agent.run("sum")  # a sync run: a connection (and server process) of its own
    after_first = len(built)
    second = agent.run("sum")
    assert first.output == second.output and "3" in first.output
    assert after_first >= len(EVERYTHING_TOOLS)
    assert built[after_first:] == []  # the second run's fresh listing reused every validator

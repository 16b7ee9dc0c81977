"""MCPToolset against faults the reference servers cannot produce on demand, from
tests/integration/mcp_servers/faulty_server.py (JSON-RPC written by hand): invalid UTF-8 on stdout, tools
with invalid input schemas, and a server that stops answering while its process lives on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentkit import Agent, ToolMessage, ToolRegistry
from agentkit.backends.base import ModelRequest
from agentkit.mcp import MCPToolset
from agentkit.testing import ScriptedBackend, call

FAULTY = [sys.executable, str(Path(__file__).parent / "mcp_servers" / "faulty_server.py")]


async def test_invalid_utf8_before_the_handshake_answer_does_not_stall_start_up() -> None:
    # Before the fix the SDK's stdout reader died on the first invalid byte, and the toolset waited out
    # connect_timeout, then said the server "did not finish starting".
    async with MCPToolset.stdio([*FAULTY, "--garbage-at-start"], connect_timeout=15) as toolset:
        echoed = await ToolRegistry(toolset.tools).execute(call("echo", text="up"))
    assert (echoed.is_error, echoed.content) == (False, "up")


async def test_invalid_utf8_in_a_result_is_replaced_and_the_session_goes_on() -> None:
    async with MCPToolset.stdio(FAULTY, timeout=10) as toolset:
        registry = ToolRegistry(toolset.tools)
        garbled = await registry.execute(call("garbled"))
        after = await registry.execute(call("echo", text="still here"))
    assert not garbled.is_error
    assert garbled.content.startswith("caf\ufffd") and garbled.content.endswith(" ok")
    assert (after.is_error, after.content) == (False, "still here")


async def test_a_server_that_stopped_answering_fails_calls_fast_and_is_not_reused() -> None:
    async with MCPToolset.stdio(FAULTY, timeout=3, probe_timeout=0.5) as toolset:
        registry = ToolRegistry(toolset.tools)
        pid = (await registry.execute(call("pid"))).content
        silent = await registry.execute(call("go_silent"))  # abandoned at 3 s; the ping gets no answer
        waiting = await registry.execute(call("echo", text="a"))  # in flight when the ping gives up
        later = await registry.execute(call("echo", text="b"))

        def script(request: ModelRequest) -> object:
            if len(request.messages) == 2:
                return call("pid")
            message = request.messages[-1]
            assert isinstance(message, ToolMessage)
            return message.content

        fresh = await Agent(model=ScriptedBackend(script), toolsets=[toolset]).arun("pid?")
    assert silent.is_error and "did not finish within 3 s" in silent.content
    for result in (waiting, later):
        assert result.is_error
        assert "stopped answering" in result.content and "did not finish within" not in result.content
    assert fresh.output.isdigit() and fresh.output != pid  # the run got a server of its own


async def test_tools_with_invalid_input_schemas_are_skipped_not_the_server() -> None:
    async with MCPToolset.stdio([*FAULTY, "--bad-schemas"]) as toolset:
        names = sorted(t.name for t in toolset.tools)
        echoed = await ToolRegistry(toolset.tools).execute(call("echo", text="ok"))
        skipped = dict(toolset.skipped)
    assert names == ["echo", "garbled", "go_silent", "pid"]
    assert (echoed.is_error, echoed.content) == (False, "ok")
    assert set(skipped) == {
        "empty_schema",
        "no_schema",
        "array_schema",
        "(tool #8 of the listing, without a name)",
    }
    assert "inputSchema.type" in skipped["empty_schema"]
    assert "inputSchema" in skipped["no_schema"]
    assert "'object'" in skipped["array_schema"]
    assert "name" in skipped["(tool #8 of the listing, without a name)"]


async def test_include_may_name_a_tool_that_was_skipped() -> None:
    async with MCPToolset.stdio([*FAULTY, "--bad-schemas"], include=["echo", "array_schema"]) as toolset:
        assert [t.name for t in toolset.tools] == ["echo"]
        assert list(toolset.skipped) == ["array_schema"]


@pytest.mark.parametrize("bad", ["--bad-schemas", "--garbage-at-start"])
def test_sync_runs_with_a_faulty_server_work(bad: str) -> None:
    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return call("echo", text="sync")
        message = request.messages[-1]
        assert isinstance(message, ToolMessage)
        return message.content

    agent = Agent(
        model=ScriptedBackend(script), toolsets=[MCPToolset.stdio([*FAULTY, bad], connect_timeout=15)]
    )
    assert agent.run("go").output == "sync"

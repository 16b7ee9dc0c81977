"""MCPToolset against a real MCP server (tests/integration/mcp_servers/echo_server.py, written with the
SDK's FastMCP/MCPServer) started as a subprocess, over stdio and streamable HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from agentkit import Agent, ToolMessage, ToolRegistry
from agentkit.backends.base import ModelRequest
from agentkit.errors import ConfigurationError, ToolDefinitionError
from agentkit.mcp import MCPConnectionError, MCPToolset
from agentkit.testing import ScriptedBackend, call
from tests.ports import free_port, wait_for_port

ECHO_SERVER = Path(__file__).parent / "mcp_servers" / "echo_server.py"
ECHO = [sys.executable, str(ECHO_SERVER)]

# One event loop for the module's async tests, so those that leave the server as it was share one
# server process (starting one takes seconds on a busy machine).
module_loop = pytest.mark.asyncio(loop_scope="module")


def echo_toolset(**options: object) -> MCPToolset:
    return MCPToolset.stdio(ECHO, prefix="echo", **options)  # type: ignore[arg-type]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared() -> AsyncIterator[MCPToolset]:
    """One echo server for the tests that do not crash it (calls time out after 1 s)."""
    async with echo_toolset(timeout=1.0) as toolset:
        yield toolset


def last_tool_message(request: ModelRequest) -> ToolMessage:
    message = request.messages[-1]
    assert isinstance(message, ToolMessage)
    return message


def process_gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@module_loop
async def test_lists_tools_with_schemas_prefixed_and_sanitised(shared: MCPToolset) -> None:
    by_name = {t.name: t for t in shared.tools}
    assert set(by_name) == {
        "echo_echo",
        "echo_add",
        "echo_fail",
        "echo_hang",
        "echo_crash",
        "echo_pid",
        "echo_weather_today",  # the server calls it "weather.today"
    }
    echo = by_name["echo_echo"].spec()
    assert echo.description.startswith("Repeat the text.")
    assert echo.parameters["required"] == ["text"]
    assert echo.parameters["properties"]["times"] == {"default": 1, "type": "integer"}


@module_loop
async def test_agent_run_calls_an_mcp_tool_and_uses_the_result(shared: MCPToolset) -> None:
    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return call("echo_echo", text="hello", times=2)
        return f"The server said: {last_tool_message(request).content}"

    backend = ScriptedBackend(script)
    result = await Agent(model=backend, tools=shared.tools).arun("Say hello twice")
    assert result.output == "The server said: hello hello"
    assert "echo_echo" in [spec.name for spec in backend.requests[0].tools]


@module_loop
async def test_sanitised_name_calls_the_server_tool_by_its_own_name(shared: MCPToolset) -> None:
    result = await ToolRegistry(shared.tools).execute(call("echo_weather_today", city="Oslo"))
    assert (result.is_error, result.content) == (False, "sunny in Oslo")


@module_loop
async def test_structured_results(shared: MCPToolset) -> None:
    as_text = await ToolRegistry(shared.tools).execute(call("echo_add", a=2, b=3))
    async with echo_toolset(prefer_structured=True) as structured:
        as_json = await ToolRegistry(structured.tools).execute(call("echo_add", a=2, b=3))
    assert not as_text.is_error and '"total": 5' in as_text.content
    assert as_json.value == {"total": 5, "terms": [2, 3]}
    assert as_json.content == '{"total":5,"terms":[2,3]}'


@module_loop
async def test_tool_error_reaches_the_model_as_an_error_result(shared: MCPToolset) -> None:
    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return call("echo_fail", reason="no disk")
        return "gave up: " + last_tool_message(request).content

    backend = ScriptedBackend(script)
    result = await Agent(model=backend, tools=shared.tools).arun("try")
    tool_message = result.messages[-2]
    assert isinstance(tool_message, ToolMessage) and tool_message.is_error
    assert "Tool 'echo_fail' reported an error" in tool_message.content
    assert "refused: no disk" in tool_message.content


@module_loop
async def test_invalid_arguments_are_caught_before_the_server(shared: MCPToolset) -> None:
    result = await ToolRegistry(shared.tools).execute(call("echo_echo", times="x"))
    assert result.is_error
    assert "'text' is a required property" in result.content
    assert "parameter 'times'" in result.content


@module_loop
async def test_crashed_server_becomes_a_clear_tool_error_and_the_run_goes_on() -> None:
    def script(request: ModelRequest) -> object:
        n = len(request.messages)
        if n == 2:
            return call("echo_crash")
        if n == 4:
            return call("echo_echo", text="still there?")
        return "done"

    backend = ScriptedBackend(script)
    async with echo_toolset() as toolset:
        started = time.perf_counter()
        result = await Agent(model=backend, tools=toolset.tools).arun("crash it")
        elapsed = time.perf_counter() - started
    crash, after = (m for m in result.messages if isinstance(m, ToolMessage))
    assert crash.is_error and after.is_error
    assert "is not reachable any more" in crash.content
    assert "crashing on purpose" in crash.content  # the server's stderr is quoted
    assert "is not reachable any more" in after.content
    assert result.output == "done"
    assert elapsed < 10  # no hang waiting on a dead process


@pytest.mark.slow
@module_loop
async def test_a_run_after_a_crash_gets_a_fresh_server() -> None:
    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return call("echo_echo", text="back")
        return last_tool_message(request).content

    async with echo_toolset() as toolset:
        crashed = await ToolRegistry(toolset.tools).execute(call("echo_crash"))
        assert crashed.is_error and "is not reachable any more" in crashed.content
        result = await Agent(model=ScriptedBackend(script), toolsets=[toolset]).arun("again")
    assert result.output == "back"


@module_loop
async def test_hung_tool_times_out_and_the_server_stays_usable(shared: MCPToolset) -> None:
    registry = ToolRegistry(shared.tools)
    started = time.perf_counter()
    hung = await registry.execute(call("echo_hang"))
    elapsed = time.perf_counter() - started
    after = await registry.execute(call("echo_echo", text="ok"))
    assert hung.is_error and "did not finish within 1 s" in hung.content
    assert elapsed < 5
    assert (after.is_error, after.content) == (False, "ok")


@module_loop
async def test_parallel_calls_share_the_session_and_a_hung_one_blocks_no_other(shared: MCPToolset) -> None:
    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return [call("echo_hang"), call("echo_echo", text="a"), call("echo_add", a=1, b=1)]
        return "done"

    result = await Agent(model=ScriptedBackend(script), tools=shared.tools).arun("go")
    hang, echo, add = (m for m in result.messages if isinstance(m, ToolMessage))
    assert hang.is_error and "did not finish within 1 s" in hang.content
    assert (echo.is_error, echo.content) == (False, "a")
    assert not add.is_error and '"total": 2' in add.content


@pytest.mark.slow
def test_toolset_opened_per_run_by_a_sync_agent_and_closed_after() -> None:
    toolset = echo_toolset()

    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return call("echo_pid")
        return last_tool_message(request).content

    agent = Agent(model=ScriptedBackend(script), toolsets=[toolset])
    first = agent.run("pid?")
    second = agent.run("pid?")
    assert not toolset.is_open
    pids = {int(first.output), int(second.output)}
    assert len(pids) == 2  # each run had its own server process
    assert all(process_gone(pid) for pid in pids)


@module_loop
async def test_toolset_already_open_is_reused_by_runs(shared: MCPToolset) -> None:
    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return call("echo_pid")
        return last_tool_message(request).content

    agent = Agent(model=ScriptedBackend(script), toolsets=[shared])
    first = await agent.arun("pid?")
    second = await agent.arun("pid?")
    assert first.output == second.output
    assert shared.is_open and not process_gone(int(first.output), within=0.2)


@module_loop
async def test_name_clash_between_toolsets_is_a_clear_error(shared: MCPToolset) -> None:
    agent = Agent(model=ScriptedBackend(["unused"]), toolsets=[shared, shared])
    with pytest.raises(ToolDefinitionError, match="already registered"):
        await agent.arun("hi")


@pytest.mark.slow
@module_loop
async def test_include_filters_tools_and_closing_stops_the_server() -> None:
    with pytest.raises(ConfigurationError, match="has no tool named nope"):
        async with echo_toolset(include=["echo", "nope"]):
            pass
    async with echo_toolset(include=["echo", "pid"]) as toolset:
        assert [t.name for t in toolset.tools] == ["echo_echo", "echo_pid"]
        pid = int((await ToolRegistry(toolset.tools).execute(call("echo_pid"))).content)
    assert process_gone(pid)  # leaving `async with` stops the server process


@module_loop
async def test_a_command_that_fails_to_start_is_a_clear_error() -> None:
    with pytest.raises(MCPConnectionError, match="failed to start"):
        async with MCPToolset.stdio("/nonexistent/mcp-server --flag"):
            pass
    script = "import sys; sys.stderr.write('no config file\\n'); sys.exit(1)"
    with pytest.raises(MCPConnectionError, match="no config file"):
        async with MCPToolset.stdio([sys.executable, "-c", script], connect_timeout=10):
            pass


@module_loop
async def test_a_server_that_never_answers_hits_the_connect_timeout() -> None:
    started = time.perf_counter()
    with pytest.raises(MCPConnectionError, match="did not finish starting within 1 s"):
        async with MCPToolset.stdio([sys.executable, "-c", "import time; time.sleep(60)"], connect_timeout=1):
            pass
    assert time.perf_counter() - started < 8


# --- streamable HTTP -------------------------------------------------------------------------


@pytest.fixture
def echo_http_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [*ECHO, "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
@module_loop
async def test_http_toolset_runs_tools_and_reports_errors(echo_http_url: str) -> None:
    async with MCPToolset.from_spec(echo_http_url, prefix="web", timeout=0.5) as toolset:
        registry = ToolRegistry(toolset.tools)
        ok = await registry.execute(call("web_echo", text="over http"))
        failed = await registry.execute(call("web_fail", reason="nope"))
        hung = await registry.execute(call("web_hang"))
    assert (ok.is_error, ok.content) == (False, "over http")
    assert failed.is_error and "refused: nope" in failed.content
    assert hung.is_error and "did not finish within 0.5 s" in hung.content


@module_loop
async def test_http_url_with_nothing_listening_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(MCPConnectionError, match="could not be reached: ConnectError"):
        async with MCPToolset.http(url, connect_timeout=5):
            pass

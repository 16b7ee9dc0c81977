"""agentkit's own MCP server (``python -m agentkit.mcp serve``) driven by the SDK's ClientSession,
over stdio and streamable HTTP, plus MCPToolset pointed back at it (agentkit on both ends)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import mcp.types as types
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from agentkit import ToolRegistry
from agentkit.errors import ConfigurationError
from agentkit.mcp import MCPToolset, load_registry
from agentkit.testing import call
from tests.ports import free_port

SERVERS_DIR = Path(__file__).parent / "mcp_servers"
SERVE = [sys.executable, "-m", "agentkit.mcp", "serve", "agentkit_tools:registry"]
ENV = {"PYTHONPATH": os.pathsep.join([str(SERVERS_DIR), os.environ.get("PYTHONPATH", "")])}


def stdio_session() -> AbstractAsyncContextManager[ClientSession]:
    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:], env=ENV)

    @asynccontextmanager
    async def session() -> AsyncIterator[ClientSession]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            yield client

    return session()


@pytest.fixture
def http_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [*SERVE, "--http", "--port", str(port)], env={**os.environ, **ENV}, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "server exited")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def http_session(url: str) -> AbstractAsyncContextManager[ClientSession]:
    @asynccontextmanager
    async def session() -> AsyncIterator[ClientSession]:
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            yield client

    return session()


def text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def check_round_trip(client: ClientSession) -> None:
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert sorted(listed) == ["add", "divide", "forecast", "slow"]
    assert listed["add"].description == "Add two integers."
    assert listed["add"].input_schema == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "The first addend."},
            "b": {"type": "integer", "description": "The second addend."},
        },
        "required": ["a", "b"],
        "additionalProperties": False,
    }
    assert listed["forecast"].input_schema["properties"]["unit"]["enum"] == ["c", "f"]

    added = await client.call_tool("add", {"a": 2, "b": 40})
    assert (added.is_error, text(added)) == (False, "42")

    forecast = await client.call_tool("forecast", {"city": "Oslo"})
    assert not forecast.is_error
    assert forecast.structured_content == {"city": "Oslo", "temperature_c": 21.5, "sky": "clear"}
    assert json.loads(text(forecast)) == forecast.structured_content

    invalid = await client.call_tool("add", {"a": "two"})
    assert invalid.is_error
    assert "Invalid arguments for tool 'add'" in text(invalid)
    assert "parameter 'b' is required" in text(invalid)

    refused = await client.call_tool("divide", {"a": 1, "b": 0})
    assert refused.is_error and text(refused) == "b must not be zero; pick another divisor"

    late = await client.call_tool("slow", {})
    assert late.is_error and "did not finish within 0.5 s" in text(late)

    with pytest.raises(MCPError, match=r"Unknown tool 'nope'\. Available tools: add, forecast, divide, slow"):
        await client.call_tool("nope", {})


async def test_round_trip_over_stdio() -> None:
    async with stdio_session() as client:
        await check_round_trip(client)


@pytest.mark.slow
async def test_round_trip_over_http(http_url: str) -> None:
    async with http_session(http_url) as client:
        await check_round_trip(client)


@pytest.mark.slow
async def test_agentkit_toolset_on_agentkit_server(http_url: str) -> None:
    async with MCPToolset.http(http_url, prefix="remote") as toolset:
        registry = ToolRegistry(toolset.tools)
        added = await registry.execute(call("remote_add", a=1, b=2))
        refused = await registry.execute(call("remote_divide", a=1, b=0))
    assert (added.is_error, added.content) == (False, "3")
    assert refused.is_error and "b must not be zero" in refused.content


def test_load_registry_accepts_registries_lists_and_factories(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(SERVERS_DIR))
    assert load_registry("agentkit_tools:registry").names == ["add", "forecast", "divide", "slow"]
    assert load_registry("agentkit_tools:tool_list").names == ["add", "divide"]
    assert load_registry("agentkit_tools:make_registry").names == ["forecast"]
    with pytest.raises(ConfigurationError, match="module:attribute"):
        load_registry("agentkit_tools")
    with pytest.raises(ConfigurationError, match="has no attribute 'missing'"):
        load_registry("agentkit_tools:missing")
    with pytest.raises(ConfigurationError, match="cannot import module 'no_such_module'"):
        load_registry("no_such_module:registry")
    with pytest.raises(ConfigurationError, match="expected a ToolRegistry"):
        load_registry("agentkit_tools:annotations")  # the __future__ feature object


def test_serve_with_a_bad_target_exits_with_a_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentkit.mcp", "serve", "agentkit_tools:missing"],
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3  # a configuration error, as for `agentkit mcp serve`
    assert "module 'agentkit_tools' has no attribute 'missing'" in done.stderr


@pytest.mark.parametrize("reopened", [False, True], ids=["plain", "host-reopened-stdout"])
def test_what_tools_print_goes_to_stderr_never_onto_the_protocol_stream(reopened: bool) -> None:
    """Driven over raw pipes, so every byte on stdout is seen: each line must be a JSON-RPC message."""
    env = {**os.environ, **ENV, "PRINTING_TOOLS_REOPEN_STDOUT": "1" if reopened else "0"}
    process = subprocess.Popen(
        [*SERVE[:-1], "printing_tools:registry"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    initialize = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "chatty_sync", "arguments": {"text": "a"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "chatty_async", "arguments": {"text": "b"}},
        },
    ]
    assert process.stdin is not None and process.stdout is not None
    lines = []
    for request in requests:
        process.stdin.write((json.dumps(request) + "\n").encode())
        process.stdin.flush()
        if "id" in request:
            lines.append(process.stdout.readline())
    process.stdin.close()
    rest, stderr = process.stdout.read(), process.stderr.read() if process.stderr else b""
    process.wait(timeout=30)
    assert rest == b""
    answers = {message["id"]: message for message in map(json.loads, lines)}  # every line is JSON
    assert answers[2]["result"]["content"][0]["text"] == "a"
    assert answers[3]["result"]["content"][0]["text"] == "b"
    for printed in (b"printed by a sync tool a", b"printed by an async tool b", b"written to fd 1", b"child"):
        assert printed in stderr

"""What an MCP tool costs compared with an in-process tool.

Compares, on one machine in one run: start-up (spawn/connect, handshake, tools/list) of a stdio and a
streamable-HTTP server, and the latency of one tool call through ``ToolRegistry.execute`` for an
in-process agentkit tool, the same kind of tool over MCP stdio, and over MCP HTTP. The server is
tests/integration/mcp_servers/echo_server.py (the SDK's MCPServer). Ratios matter more than absolute
figures: the machine is shared and noisy.

A second table: opening a stdio server that lists many tools (``--tools``, default 500 besides its own),
the first time and again with the same toolset, as each run with ``Agent(toolsets=...)`` does.
"conversion" is the part spent turning the listing into agentkit tools, mostly jsonschema's check of
each input schema; from the second opening on it comes from the toolset's cache (before the cache
every run paid the first row's figure).

    .venv/bin/python benchmarks/mcp_calls.py [--calls N] [--tools N]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentkit import ToolRegistry, tool
from agentkit.mcp import MCPToolset
from agentkit.testing import call

ECHO = [sys.executable, str(Path(__file__).parent.parent / "tests/integration/mcp_servers/echo_server.py")]


@tool
def echo(text: str, times: int = 1) -> str:
    """Repeat the text."""
    return " ".join([text] * times)


async def per_call(registry: ToolRegistry, name: str, calls: int) -> list[float]:
    timings = []
    for i in range(calls):
        started = time.perf_counter()
        result = await registry.execute(call(name, text=f"x{i}"))
        timings.append(time.perf_counter() - started)
        assert not result.is_error, result.content
    return timings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_port(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(port)


async def main(calls: int) -> None:
    rows: list[tuple[str, float, float, float]] = []
    local = await per_call(ToolRegistry([echo]), "echo", calls)
    rows.append(("in-process tool", 0.0, statistics.median(local), statistics.quantiles(local, n=20)[-1]))

    started = time.perf_counter()
    async with MCPToolset.stdio(ECHO) as toolset:
        opened = time.perf_counter() - started
        timings = await per_call(ToolRegistry(toolset.tools), "echo", calls)
    rows.append(("MCP stdio", opened, statistics.median(timings), statistics.quantiles(timings, n=20)[-1]))

    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = await asyncio.create_subprocess_exec(*ECHO, "--http", str(port), **quiet)
    try:
        await wait_for_port(port)
        started = time.perf_counter()
        async with MCPToolset.http(f"http://127.0.0.1:{port}/mcp") as toolset:
            opened = time.perf_counter() - started
            timings = await per_call(ToolRegistry(toolset.tools), "echo", calls)
        rows.append(
            (
                "MCP streamable HTTP",
                opened,
                statistics.median(timings),
                statistics.quantiles(timings, n=20)[-1],
            )
        )
    finally:
        process.terminate()
        await process.wait()

    base = rows[0][2]
    print(f"{calls} sequential calls of echo(text) through ToolRegistry.execute")
    print(f"{'path':<22}{'open (s)':>10}{'median (ms)':>13}{'p95 (ms)':>10}{'x in-process':>14}")
    for name, opened, median, p95 in rows:
        print(f"{name:<22}{opened:>10.2f}{median * 1000:>13.2f}{p95 * 1000:>10.2f}{median / base:>14.1f}")


class TimedToolset(MCPToolset):
    """Records how long turning each listing into tools took."""

    conversions: list[float]

    def _make_tools(self, connection: Any, remote: Sequence[Any]) -> Any:
        started = time.perf_counter()
        tools = super()._make_tools(connection, remote)
        self.conversions.append(time.perf_counter() - started)
        return tools


async def many_tools(count: int, opens: int = 3) -> None:
    toolset = TimedToolset.stdio([*ECHO, "--extra-tools", str(count)], connect_timeout=300)
    toolset.conversions = []
    rows: list[tuple[str, float, float]] = []
    for index in range(opens):
        started = time.perf_counter()
        async with toolset:
            opened = time.perf_counter() - started
            listed = len(toolset.tools)
        label = "first open" if index == 0 else f"open #{index + 1} (cached)"
        rows.append((label, opened, toolset.conversions[-1]))
    print(f"\nopening a stdio server with {listed} tools, the same toolset {opens} times")
    print(f"{'open':<22}{'total (s)':>10}{'conversion (ms)':>17}{'per tool (ms)':>15}{'x first':>9}")
    first = rows[0][2]
    for label, opened, conversion in rows:
        per_tool = conversion * 1000 / listed
        ratio = first / conversion
        print(f"{label:<22}{opened:>10.2f}{conversion * 1000:>17.1f}{per_tool:>15.3f}{ratio:>9.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--tools", type=int, default=500)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.calls))
    asyncio.run(many_tools(arguments.tools))

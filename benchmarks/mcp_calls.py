"""What an MCP tool costs compared with an in-process tool.

Compares, on one machine in one run: start-up (spawn/connect, handshake, tools/list) of a stdio and a
streamable-HTTP server, and the latency of one tool call through ``ToolRegistry.execute`` for an
in-process agentkit tool, the same kind of tool over MCP stdio, and over MCP HTTP. The server is
tests/integration/mcp_servers/echo_server.py (the SDK's MCPServer). Ratios matter more than absolute
figures: the machine is shared and noisy.

    .venv/bin/python benchmarks/mcp_calls.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    asyncio.run(main(parser.parse_args().calls))

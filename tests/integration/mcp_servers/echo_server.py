"""A small MCP server for agentkit's tests, written with the SDK's high-level server (FastMCP, called
``MCPServer`` since mcp 2).

Tools: a normal one (echo), one with structured output (add), one that raises (fail), one that never
returns (hang), one that kills its own process (crash) and one whose name needs sanitising.

Run: ``python echo_server.py`` (stdio) or ``python echo_server.py --http PORT`` (streamable HTTP);
``--extra-tools N`` adds N generated tools.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

server = MCPServer("echo-test-server")


class Sum(BaseModel):
    total: int
    terms: list[int]


@server.tool()
def echo(text: str, times: int = 1) -> str:
    """Repeat the text.

    Args:
        text: What to repeat.
        times: How often.
    """
    return " ".join([text] * times)


@server.tool()
def add(a: int, b: int) -> Sum:
    """Add two integers, with the terms."""
    return Sum(total=a + b, terms=[a, b])


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason (ToolError: the message reaches the client)."""
    raise ToolError(f"refused: {reason}")


@server.tool()
async def hang() -> str:
    """Never returns."""
    await asyncio.sleep(3600)
    return "unreachable"


@server.tool()
def crash() -> str:
    """Kills the server process mid-call."""
    sys.stderr.write("echo-test-server: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def pid() -> int:
    """The server's process id (tests check the process is gone after close)."""
    return os.getpid()


@server.tool(name="weather.today")
def weather_today(city: str) -> str:
    """A tool whose MCP name has a dot, which OpenAI-style tool names do not allow."""
    return f"sunny in {city}"


def add_generated_tools(count: int) -> None:
    """``count`` more tools with a typical small schema (benchmarks/mcp_calls.py lists 500 of them)."""

    def forecast(city: str, days: int = 1, unit: str = "c", hourly: bool = False) -> str:
        """Weather forecast for a city.

        Args:
            city: City name.
            days: Days ahead.
            unit: Temperature unit, c or f.
            hourly: Hour by hour.
        """
        return f"{city}: sunny for {days} day(s)"

    for index in range(count):
        server.add_tool(forecast, name=f"forecast_{index}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on this port")
    parser.add_argument("--extra-tools", type=int, default=0, metavar="N")
    options = parser.parse_args()
    add_generated_tools(options.extra_tools)
    if options.http:
        server.run("streamable-http", port=options.http)
    else:
        server.run("stdio")

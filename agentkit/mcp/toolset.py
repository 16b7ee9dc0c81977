"""MCPToolset: the tools of one MCP server as agentkit tools.

    async with MCPToolset.stdio("python -m mcp_server_time", prefix="time") as ts:
        result = await Agent(model, tools=ts.tools).arun("What time is it in Tokyo?")

or let each run open and close the connection itself (works with the sync ``agent.run`` too):

    agent = Agent(model, toolsets=[MCPToolset.from_spec("https://example.com/mcp")])
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TextIO

import mcp.types as types

from agentkit.errors import ConfigurationError, ToolDefinitionError, ToolExecutionError
from agentkit.mcp.connection import (
    HttpServer,
    MCPConnection,
    MCPServerGone,
    ServerParams,
    StdioServer,
    parse_command,
)
from agentkit.mcp.names import local_names
from agentkit.mcp.results import convert_result
from agentkit.tool import Tool
from agentkit.tool_schema import strip_titles

logger = logging.getLogger(__name__)


class MCPToolset:
    """The tools of one MCP server, registered under valid (optionally prefixed) local names.

    Args:
        server: where the server is (see :meth:`stdio`, :meth:`http`, :meth:`from_spec`).
        prefix: prepended as ``prefix_name`` to every tool name, to avoid clashes between servers.
        timeout: seconds one call may take before the model gets a timeout error.
        connect_timeout: seconds to start the server, initialise the session and list its tools.
        include: server tool names to expose (default: all).
        prefer_structured: return ``structuredContent`` (as JSON) instead of the text content.
        errlog: where a stdio server's stderr goes (default: kept and quoted in crash reports).
    """

    def __init__(
        self,
        server: ServerParams,
        *,
        prefix: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 30.0,
        include: Collection[str] | None = None,
        prefer_structured: bool = False,
        errlog: TextIO | None = None,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ConfigurationError("MCPToolset: timeout and connect_timeout must be positive")
        self.server = server
        self.prefix = prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.include = frozenset(include) if include is not None else None
        self.prefer_structured = prefer_structured
        self.errlog = errlog
        self.skipped: dict[str, str] = {}
        """Server tools that could not become agentkit tools, with the reason."""
        self._connection: MCPConnection | None = None
        self._tools: list[Tool] = []

    @classmethod
    def stdio(
        cls,
        command: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        **options: Any,
    ) -> MCPToolset:
        """A server started as a subprocess: ``"python -m server --flag"`` or an argv list."""
        executable, args = parse_command(command)
        return cls(StdioServer(executable, args, env, cwd), **options)

    @classmethod
    def http(cls, url: str, *, headers: Mapping[str, str] | None = None, **options: Any) -> MCPToolset:
        """A server reached over streamable HTTP, e.g. ``http://127.0.0.1:8000/mcp``."""
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"an MCP HTTP server needs an http:// or https:// URL, got {url!r}")
        return cls(HttpServer(url, dict(headers or {})), **options)

    @classmethod
    def from_spec(cls, spec: str, **options: Any) -> MCPToolset:
        """A URL (``http://...``, ``https://...``) or a command line, as given to ``--mcp`` on the CLI."""
        text = spec.strip()
        if text.startswith(("http://", "https://")):
            return cls.http(text, **options)
        return cls.stdio(text, **options)

    @property
    def label(self) -> str:
        return self.server.label

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    @property
    def tools(self) -> list[Tool]:
        """The server's tools; the toolset must be open (``async with toolset``)."""
        if self._connection is None:
            raise ConfigurationError(
                f"MCPToolset for '{self.label}' is not open: use `async with toolset:` before reading "
                "`.tools`, or pass it as Agent(toolsets=[toolset]) so each run opens it"
            )
        return list(self._tools)

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise ConfigurationError(f"MCPToolset for '{self.label}' is already open")
        self._connection, self._tools = await self._open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        connection, self._connection, self._tools = self._connection, None, []
        if connection is not None:
            await connection.close()

    @asynccontextmanager
    async def tools_for_run(self) -> AsyncIterator[Sequence[Tool]]:
        """The open connection's tools when it lives in this event loop and its server is alive,
        else a connection of this run's own, closed when the run ends (so a crashed server gets a
        fresh start at the next run; see :class:`agentkit.toolset.Toolset`)."""
        connection = self._connection
        if connection is not None and connection.alive and connection.loop is asyncio.get_running_loop():
            yield list(self._tools)
            return
        connection, tools = await self._open()
        try:
            yield tools
        finally:
            await connection.close()

    async def _open(self) -> tuple[MCPConnection, list[Tool]]:
        connection = MCPConnection(self.server, errlog=self.errlog)
        remote = await connection.open(self.connect_timeout)
        try:
            return connection, self._make_tools(connection, remote)
        except BaseException:
            await connection.close()
            raise

    def _make_tools(self, connection: MCPConnection, remote: Sequence[types.Tool]) -> list[Tool]:
        chosen = [t for t in remote if self.include is None or t.name in self.include]
        if self.include is not None:
            missing = self.include - {t.name for t in remote}
            if missing:
                raise ConfigurationError(
                    f"MCP server '{self.label}' has no tool named {', '.join(sorted(missing))}; "
                    f"it offers: {', '.join(t.name for t in remote) or '(none)'}"
                )
        names = local_names((t.name for t in chosen), self.prefix)
        self.skipped = {}
        tools: list[Tool] = []
        for spec in chosen:
            try:
                tools.append(self._make_tool(connection, spec, names[spec.name]))
            except ToolDefinitionError as exc:
                # One odd schema must not take the whole server down; say so and keep the rest.
                self.skipped[spec.name] = str(exc)
                logger.warning("MCP server '%s': skipping tool '%s': %s", self.label, spec.name, exc)
        return tools

    def _make_tool(self, connection: MCPConnection, spec: types.Tool, local: str) -> Tool:
        remote = spec.name
        prefer_structured = self.prefer_structured

        async def call_remote(**arguments: Any) -> Any:
            try:
                result = await connection.call_tool(remote, arguments)
            except MCPServerGone as exc:
                raise ToolExecutionError(f"Tool '{local}' failed: {exc}", tool_name=local) from exc
            return convert_result(result, tool_name=local, prefer_structured=prefer_structured)

        parameters = strip_titles(dict(spec.input_schema))
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        return Tool.from_schema(
            local,
            inspect.cleandoc(spec.description or spec.title or remote),
            parameters,
            call_remote,
            timeout=self.timeout,
        )

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"MCPToolset({self.label!r}, prefix={self.prefix!r}, {state})"

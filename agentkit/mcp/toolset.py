"""MCPToolset: the tools of one MCP server as agentkit tools.

    async with MCPToolset.stdio("python -m mcp_server_time", prefix="time") as ts:
        result = await Agent(model, tools=ts.tools).arun("What time is it in Tokyo?")

or let each run open and close the connection itself (works with the sync ``agent.run`` too):

    agent = Agent(model, toolsets=[MCPToolset.from_spec("https://example.com/mcp")])
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TextIO

import mcp.types as types
from mcp.shared.dispatcher import ProgressFnT

from agentkit.errors import ConfigurationError, ToolDefinitionError, ToolExecutionError
from agentkit.mcp.connection import (
    HttpServer,
    HttpTransport,
    MCPConnection,
    ServerParams,
    StdioServer,
    _ServerGone,
    parse_command,
)
from agentkit.mcp.names import local_names
from agentkit.mcp.results import convert_result
from agentkit.run_context import RunContext
from agentkit.tool import Tool
from agentkit.tool_schema import Validator, json_schema_validator, strip_titles

_CONTEXT = "\x00run_context"
"""The keyword the run context reaches an MCP tool's function under: no JSON schema names a property
so, and a model that sends such an argument anyway only has it replaced by the context."""
_MESSAGE_CHARS = 500

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
        probe_timeout: when a call is abandoned at its timeout, the server is pinged; no answer within
            this many seconds and the connection counts as dead (closed; later calls fail at once, and
            the next run with ``toolsets=`` starts a fresh one).
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
        probe_timeout: float = 10.0,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0 or probe_timeout <= 0:
            raise ConfigurationError(
                "MCPToolset: timeout, connect_timeout and probe_timeout must be positive"
            )
        self.server = server
        self.prefix = prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.include = frozenset(include) if include is not None else None
        self.prefer_structured = prefer_structured
        self.errlog = errlog
        self.probe_timeout = probe_timeout
        self.skipped: dict[str, str] = {}
        """Server tools that could not become agentkit tools, with the reason."""
        self._connection: MCPConnection | None = None
        self._tools: list[Tool] = []
        # Checked argument validators by (local name, canonical JSON of the schema): building one costs
        # milliseconds (jsonschema's check_schema), and each run with toolsets= lists the tools again.
        # Rebuilt from the latest listing each time, so it never holds more than one server's tools.
        self._validators: dict[tuple[str, str], Validator] = {}

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
    def http(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        transport: HttpTransport | None = None,
        **options: Any,
    ) -> MCPToolset:
        """A server reached over HTTP: streamable HTTP (``http://127.0.0.1:8000/mcp``), or the legacy
        HTTP+SSE transport for a URL whose path ends in ``/sse`` (or with ``transport="sse"``)."""
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"an MCP HTTP server needs an http:// or https:// URL, got {url!r}")
        if transport not in (None, "streamable-http", "sse"):
            raise ConfigurationError(
                f"unknown MCP HTTP transport {transport!r}: use 'streamable-http' or 'sse'"
            )
        return cls(HttpServer(url, dict(headers or {}), transport), **options)

    @classmethod
    def sse(cls, url: str, *, headers: Mapping[str, str] | None = None, **options: Any) -> MCPToolset:
        """A server on the legacy HTTP+SSE transport (protocol 2024-11-05), e.g. ``http://host/sse``."""
        return cls.http(url, headers=headers, transport="sse", **options)

    @classmethod
    def from_spec(cls, spec: str, **options: Any) -> MCPToolset:
        """A URL (``http://...``, ``https://...``: streamable HTTP, or SSE when its path ends in ``/sse``)
        or a command line, as given to ``--mcp`` on the CLI."""
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
        connection = MCPConnection(self.server, errlog=self.errlog, probe_timeout=self.probe_timeout)
        remote = await connection.open(self.connect_timeout)
        try:
            return connection, self._make_tools(connection, remote)
        except BaseException:
            await connection.close()
            raise

    def _make_tools(self, connection: MCPConnection, remote: Sequence[types.Tool]) -> list[Tool]:
        rejected = connection.rejected
        chosen = [t for t in remote if self.include is None or t.name in self.include]
        if self.include is not None:
            missing = self.include - {t.name for t in remote} - set(rejected)
            if missing:
                raise ConfigurationError(
                    f"MCP server '{self.label}' has no tool named {', '.join(sorted(missing))}; "
                    f"it offers: {', '.join(t.name for t in remote) or '(none)'}"
                )
        skipped = {
            name: reason for name, reason in rejected.items() if self.include is None or name in self.include
        }
        usable = []
        for spec in chosen:
            if spec.execution is not None and spec.execution.task_support == "required":
                skipped[spec.name] = (
                    "the server runs it only as an MCP task (execution.taskSupport='required'), "
                    "which agentkit does not support yet"
                )
            else:
                usable.append(spec)
        names = local_names((t.name for t in usable), self.prefix)
        validators, self._validators = self._validators, {}
        tools: list[Tool] = []
        for spec in usable:
            try:
                tools.append(self._make_tool(connection, spec, names[spec.name], validators))
            except (ToolDefinitionError, RecursionError) as exc:
                # One odd schema must not take the whole server down; say so and keep the rest.
                skipped[spec.name] = str(exc) or "its input schema is nested too deeply"
        self.skipped = skipped
        for name, reason in skipped.items():
            logger.warning("MCP server '%s': skipping tool '%s': %s", self.label, name, reason)
        return tools

    def _make_tool(
        self,
        connection: MCPConnection,
        spec: types.Tool,
        local: str,
        previous: dict[tuple[str, str], Validator],
    ) -> Tool:
        remote = spec.name
        prefer_structured = self.prefer_structured

        async def call_remote(**arguments: Any) -> Any:
            context: RunContext[Any] | None = arguments.pop(_CONTEXT, None)
            progress = _progress_forwarder(context)
            try:
                result = await connection.call_tool(remote, arguments, progress)
            except _ServerGone as exc:
                raise ToolExecutionError(f"Tool '{local}' failed: {exc}", tool_name=local) from exc
            return convert_result(result, tool_name=local, prefer_structured=prefer_structured)

        parameters = strip_titles(dict(spec.input_schema))
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        if parameters["type"] != "object":  # the listing check refuses these; this keeps Tool honest
            raise ToolDefinitionError(f"tool '{local}': parameters must be a JSON schema of type 'object'")
        key = (local, json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=str))
        validate = previous.get(key) or self._validators.get(key) or json_schema_validator(local, parameters)
        self._validators[key] = validate
        return Tool(
            local,
            inspect.cleandoc(spec.description or spec.title or remote),
            parameters,
            call_remote,
            validate=validate,
            context_param=_CONTEXT,
            timeout=self.timeout,
        )

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"MCPToolset({self.label!r}, prefix={self.prefix!r}, {state})"


def _progress_forwarder(context: RunContext[Any] | None) -> ProgressFnT | None:
    """An SDK progress callback that hands the server's progress notifications to the run (None when
    there is no run context: then no progress token is sent). The values are the server's, so
    untrusted: a non-finite progress is dropped, a long message cut."""
    if context is None or context.emit is None:
        return None

    async def forward(progress: float, total: float | None, message: str | None) -> None:
        if not math.isfinite(progress):
            return
        if total is not None and not math.isfinite(total):
            total = None
        if message is not None and len(message) > _MESSAGE_CHARS:
            message = message[: _MESSAGE_CHARS - 1] + "…"
        context.report_progress(progress, total, message)

    return forward

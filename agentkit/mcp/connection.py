"""One live session with an MCP server, owned by a background task.

The SDK's transports and ``ClientSession`` are anyio task groups that must be entered and exited in
the same task. Tool calls, however, come from whatever task the agent loop runs them in, and a
toolset may be closed from a different task than the one that opened it. So a dedicated owner task
enters the transport and session, waits for ``close()``, then leaves them; callers only send requests
through the session. A server that crashes therefore cannot cancel the caller's task, and a dead or
hung server turns into an exception at the call, never a hung run.

A connection can die without closing: a server that stops answering, or a transport whose reader
stopped. So when a call is abandoned (its timeout fired), the connection pings the server; no answer
within ``probe_timeout`` marks it dead and closes it: calls still waiting on it, and every later call,
fail at once instead of each waiting out its own timeout (``MCPToolset.tools_for_run`` then opens a
fresh connection for the next run).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO, cast

import mcp.types as types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError

from agentkit.errors import ConfigurationError, ToolsetError
from agentkit.mcp.listing import LenientDispatcher

logger = logging.getLogger(__name__)

_STDERR_TAIL = 800
_CLOSE_TIMEOUT = 10.0
_PROBE_SLICE = 0.25


MCPConnectionError = ToolsetError
"""The MCP server could not be started, reached or initialised (the name before the class moved to
:mod:`agentkit.errors`)."""


class _ServerGone(Exception):
    """The server closed the connection or its process exited; carries a message for the model."""


@dataclass(frozen=True)
class StdioServer:
    """An MCP server started as a subprocess and spoken to over its stdin/stdout."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | Path | None = None

    @property
    def label(self) -> str:
        return shlex.join([self.command, *self.args])


HttpTransport = Literal["streamable-http", "sse"]


@dataclass(frozen=True)
class HttpServer:
    """An MCP server reached over HTTP: streamable HTTP (usually at ``/mcp``), or the legacy HTTP+SSE
    transport of protocol 2024-11-05 (usually at ``/sse``). ``transport=None`` picks SSE for a URL
    whose path ends in ``/sse``, streamable HTTP otherwise."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    transport: HttpTransport | None = None

    @property
    def label(self) -> str:
        return self.url

    @property
    def kind(self) -> HttpTransport:
        if self.transport is not None:
            return self.transport
        path = self.url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        return "sse" if path.endswith("/sse") else "streamable-http"


ServerParams = StdioServer | HttpServer


def _closed(exc: BaseException) -> bool:
    """Whether ``exc`` (from a request) means the connection is closed, not just that it failed."""
    return isinstance(exc, OSError | EOFError) or (
        isinstance(exc, MCPError) and exc.code == types.CONNECTION_CLOSED
    )


def _leaf(exc: BaseException) -> BaseException:
    """The first real cause inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class MCPConnection:
    """A connected, initialised client session and the tools the server listed."""

    def __init__(
        self, server: ServerParams, *, errlog: TextIO | None = None, probe_timeout: float = 10.0
    ) -> None:
        self.server = server
        self._errlog = errlog
        self._probe_timeout = probe_timeout
        self._stderr: TextIO | None = None
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._failure: BaseException | None = None
        self._gone = False
        self._silent = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tools: list[types.Tool] = []
        self.rejected: dict[str, str] = {}
        """Tools the server listed that the SDK would refuse (bad ``inputSchema``...), with the reason."""

    def _transport(self) -> AbstractAsyncContextManager[Any]:
        server = self.server
        if isinstance(server, StdioServer):
            params = StdioServerParameters(
                command=server.command,
                args=list(server.args),
                env=dict(server.env) if server.env is not None else None,
                cwd=server.cwd,
                # One invalid UTF-8 byte on stdout would otherwise stop the SDK's reader for good
                # (and silently): replaced, it costs at most the one message that carried it.
                encoding_error_handler="replace",
            )
            if self._errlog is None:
                # Keep the server's stderr so a crash report can quote it.
                self._stderr = cast(
                    TextIO,
                    tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace"),  # noqa: SIM115 - closed in close()
                )
            return stdio_client(params, errlog=self._errlog or self._stderr or sys.stderr)
        import httpx2

        if server.kind == "sse":
            from mcp.client.sse import sse_client

            return sse_client(server.url, headers=dict(server.headers), timeout=30.0, sse_read_timeout=300.0)
        from mcp.client.streamable_http import streamable_http_client

        @contextlib.asynccontextmanager
        async def http() -> AsyncIterator[Any]:
            client = httpx2.AsyncClient(
                headers=dict(server.headers), timeout=httpx2.Timeout(30.0, read=300.0)
            )
            async with client, streamable_http_client(server.url, http_client=client) as streams:
                yield streams

        return http()

    def stderr_tail(self) -> str:
        """The last lines the server process wrote to stderr (stdio servers only)."""
        if self._stderr is None:
            return ""
        try:
            fd = self._stderr.fileno()
            size = os.fstat(fd).st_size
            start = max(0, size - _STDERR_TAIL)
            data = os.pread(fd, size - start, start).decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        return data.strip()

    async def open(self, timeout: float) -> list[types.Tool]:  # noqa: ASYNC109 - a connect deadline
        """Start the owner task and wait until the session is initialised and tools are listed."""
        self.loop = asyncio.get_running_loop()
        ready: asyncio.Future[list[types.Tool]] = self.loop.create_future()
        self._task = asyncio.create_task(self._own(ready), name=f"mcp:{self.server.label}")
        try:
            async with asyncio.timeout(timeout):
                self.tools = await asyncio.shield(ready)
        except BaseException as exc:
            if isinstance(exc, TimeoutError):
                message = self._describe(f"did not finish starting within {timeout:g} s")
            else:
                leaf = _leaf(exc)
                verb = "failed to start" if isinstance(self.server, StdioServer) else "could not be reached"
                message = self._describe(f"{verb}: {type(leaf).__name__}: {leaf}")
            await self.close()
            if ready.done() and not ready.cancelled():
                ready.exception()  # retrieved: a failure after the deadline is not worth a warning
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
                raise
            raise MCPConnectionError(message) from exc
        return self.tools

    def _describe(self, problem: str) -> str:
        message = f"MCP server '{self.server.label}' {problem}"
        tail = self.stderr_tail()
        return f"{message}\nServer stderr (last lines):\n{tail}" if tail else message

    async def _own(self, ready: asyncio.Future[list[types.Tool]]) -> None:
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session: ClientSession | None = None
                dispatcher = LenientDispatcher(
                    read, write, protocol_version=lambda: session.protocol_version if session else None
                )
                session = await stack.enter_async_context(
                    ClientSession(
                        dispatcher=dispatcher,
                        client_info=types.Implementation(name="agentkit", version="0.1.0"),
                    )
                )
                await session.initialize()
                tools = await _list_tools(session)
                self.rejected = dict(dispatcher.rejected)
                self._session = session
                if not ready.done():
                    ready.set_result(tools)
                await self._stop.wait()
        except BaseException as exc:
            self._failure = exc
            if not ready.done():
                if isinstance(exc, asyncio.CancelledError):
                    ready.cancel()
                else:
                    ready.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
        finally:
            self._session = None

    @property
    def alive(self) -> bool:
        """False once the session ended, a call found the server gone, or it stopped answering."""
        return self._session is not None and not self._gone

    async def call_tool(
        self, name: str, arguments: dict[str, Any], progress: ProgressFnT | None = None
    ) -> types.CallToolResult:
        """Send ``tools/call`` (with a progress token when ``progress`` is given, which then receives
        the server's progress notifications); a dead connection raises :class:`_ServerGone`."""
        session = self._session
        if session is None or self._gone:
            raise _ServerGone(self._gone_message())
        try:
            return await session.call_tool(name, arguments, progress_callback=progress)
        except asyncio.CancelledError:
            # Abandoned (a timeout, usually): find out whether the server still answers at all.
            self._start_probe(session)
            raise
        except MCPError as exc:
            if exc.code != types.CONNECTION_CLOSED and self._session is not None and not self._gone:
                raise
            self._gone = True
            raise _ServerGone(self._gone_message()) from exc
        except (OSError, EOFError) as exc:
            self._gone = True
            raise _ServerGone(self._gone_message()) from exc

    def _start_probe(self, session: ClientSession) -> None:
        if self._gone or (self._probe is not None and not self._probe.done()):
            return
        self._probe = asyncio.get_running_loop().create_task(self._ping(session))

    async def _ping(self, session: ClientSession) -> None:
        ping = asyncio.ensure_future(session.send_ping())
        try:
            # The budget is counted in slices the loop actually waited, not in clock time: an event
            # loop that was not running for a while (a test's, a notebook's) must not read as silence.
            for _ in range(max(1, round(self._probe_timeout / _PROBE_SLICE))):
                done, _ = await asyncio.wait({ping}, timeout=_PROBE_SLICE)
                if done:
                    break
        finally:
            ping.cancel()
        if not ping.done() or ping.cancelled():
            self._silent = self._gone = True
            logger.warning("%s", self._gone_message())
            # Let go of it: calls still waiting on it end now (CONNECTION_CLOSED), and a stdio
            # server's process is stopped rather than left hanging.
            self._stop.set()
        elif (exc := ping.exception()) is not None and _closed(exc):
            # Any answer, an error included (a server without ping), shows the server is there.
            self._gone = True
            logger.warning(
                "MCP server '%s' failed a ping after an abandoned call: %r", self.server.label, exc
            )

    def _gone_message(self) -> str:
        if self._silent:
            return self._describe(
                f"stopped answering (a call was abandoned and a ping got no reply within "
                f"{self._probe_timeout:g} s); its tools cannot be used in this run"
            )
        cause = ""
        if self._failure is not None and not isinstance(self._failure, asyncio.CancelledError):
            leaf = _leaf(self._failure)
            cause = f" ({type(leaf).__name__}: {leaf})"
        return self._describe(
            f"is not reachable any more{cause} (its process exited or it closed the connection); "
            "its tools cannot be used in this run"
        )

    async def close(self) -> None:
        """Leave the session and transport (stopping a stdio server's process); safe to call twice."""
        self._stop.set()
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
        task = self._task
        if task is not None and not task.done():
            # Still starting (stuck in initialize, say): nothing to wind down gracefully.
            done = set() if self._session is None else (await asyncio.wait({task}, timeout=_CLOSE_TIMEOUT))[0]
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


async def _list_tools(session: ClientSession) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(1000):  # a server whose cursor never ends must not hang the connect
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def parse_command(command: str | Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """``"python -m server --flag"`` or ``["python", "-m", "server"]`` as (executable, args)."""
    parts = shlex.split(command) if isinstance(command, str) else list(command)
    if not parts or not parts[0]:
        raise ConfigurationError("an MCP stdio server needs a command, got an empty one")
    return parts[0], tuple(parts[1:])

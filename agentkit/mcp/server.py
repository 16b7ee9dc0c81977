"""Serve a :class:`~agentkit.ToolRegistry` over MCP, so any MCP client can use agentkit tools.

Built on the SDK's low-level ``Server`` because agentkit tools already carry their JSON schemas and
validation: ``tools/list`` returns each tool's schema as is, ``tools/call`` goes through
``ToolRegistry.execute`` (validation, timeout, error capture), and every failure the model could fix
(bad arguments, a tool that raised or timed out) becomes an ``isError`` result with agentkit's
message. An unknown tool name is a protocol error (``-32602``), as the MCP spec asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from agentkit.errors import ConfigurationError
from agentkit.messages import ToolCall
from agentkit.registry import ToolRegistry
from agentkit.run_context import RunContext
from agentkit.tool_result import ToolResult

Transport = Literal["stdio", "http"]


def _structured(result: ToolResult) -> dict[str, Any] | None:
    """An object-valued result also as ``structuredContent`` (clients that parse JSON get it typed)."""
    value = result.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return value
    return None


def load_registry(target: str) -> ToolRegistry:
    """Import ``module:attr`` and make a ToolRegistry of it."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(f"expected module:attribute (e.g. myapp.tools:registry), got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import module {module_name!r}: {exc}") from exc
    try:
        value: Any = getattr(module, attr)
    except AttributeError:
        raise ConfigurationError(f"module {module_name!r} has no attribute {attr!r}") from None
    if callable(value) and not isinstance(value, ToolRegistry) and not hasattr(value, "spec"):
        value = value()
    if isinstance(value, ToolRegistry):
        return value
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return ToolRegistry(value)
    raise ConfigurationError(
        f"{target} is a {type(value).__name__}; expected a ToolRegistry, a list of tools, "
        "or a function returning one"
    )


def build_server(
    registry: ToolRegistry,
    *,
    name: str = "agentkit",
    instructions: str | None = None,
    timeout: float | None = 60.0,
    deps: Any = None,
) -> Server[Any]:
    """A low-level MCP ``Server`` offering the tools of ``registry``.

    ``timeout`` applies to tools without their own; ``deps`` is what tools asking for a
    :class:`~agentkit.RunContext` receive as ``ctx.deps``.
    """

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=item.name, description=item.description or None, input_schema=item.parameters)
                for item in registry
            ]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name not in registry:
            available = ", ".join(registry.names) or "(none)"
            raise MCPError(
                types.INVALID_PARAMS, f"Unknown tool '{params.name}'. Available tools: {available}."
            )
        call = ToolCall(name=params.name, arguments=dict(params.arguments or {}))
        result = await registry.execute(call, RunContext(deps=deps, run_id="mcp"), default_timeout=timeout)
        return types.CallToolResult(
            content=[types.TextContent(text=result.content)],
            structured_content=None if result.is_error else _structured(result),
            is_error=result.is_error,
        )

    return Server(
        name, version="0.1.0", instructions=instructions, on_list_tools=list_tools, on_call_tool=call_tool
    )


@contextlib.contextmanager
def _diverted_stdio() -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    """The protocol's own text streams on private copies of fd 0 and 1, with everything else that
    would write to stdout sent to stderr meanwhile: ``print()`` from any thread (``sys.stdout`` is
    stderr), C code and child processes (fd 1 points at stderr; fd 0 at the null device, so nothing
    else reads the client's messages either). This holds whatever the host did to ``sys.stdout``
    before (re-opened it on another descriptor, wrapped it): a stray line on the wire would corrupt the
    protocol. Descriptors and ``sys.stdin``/``sys.stdout`` are restored on exit."""
    for stream in (sys.stdout, sys.__stdout__):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()  # what was printed before serving goes where it was meant to
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    saved_stdin, saved_stdout = sys.stdin, sys.stdout
    null_in = open(os.devnull)  # noqa: SIM115 - closed below
    try:
        os.dup2(null_in.fileno(), 0)
        os.dup2(2, 1)
        sys.stdin = null_in
        sys.stdout = sys.stderr if sys.stderr is not None else null_in
        # closefd=False on the reading side: the SDK reads it on a worker thread that may still block
        # there after serving ends, so that descriptor is never closed (and never reused under it).
        reader = io.TextIOWrapper(open(wire_in, "rb", closefd=False), encoding="utf-8", errors="replace")  # noqa: SIM115
        with io.TextIOWrapper(open(wire_out, "wb"), encoding="utf-8") as writer:
            yield reader, writer
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        sys.stdin, sys.stdout = saved_stdin, saved_stdout
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        for fd in (saved_in, saved_out):
            os.close(fd)
        null_in.close()


async def serve_async(
    registry: ToolRegistry,
    transport: Transport = "stdio",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    **options: Any,
) -> None:
    """Serve until the client hangs up (stdio) or the process is stopped (HTTP)."""
    server = build_server(registry, **options)
    if transport == "stdio":
        import anyio

        with _diverted_stdio() as (reader, writer):
            async with stdio_server(anyio.wrap_file(reader), anyio.wrap_file(writer)) as (
                read_stream,
                write_stream,
            ):
                await server.run(read_stream, write_stream, server.create_initialization_options())
    elif transport == "http":
        import uvicorn

        app = server.streamable_http_app(streamable_http_path=path, host=host)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning")
        await uvicorn.Server(config).serve()
    else:
        raise ConfigurationError(f"unknown MCP transport {transport!r}: use 'stdio' or 'http'")


def serve(
    registry: ToolRegistry,
    transport: Transport = "stdio",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    **options: Any,
) -> None:
    """Blocking :func:`serve_async`: ``serve(registry)`` for stdio, ``serve(registry, "http", port=N)``."""
    asyncio.run(serve_async(registry, transport, host=host, port=port, path=path, **options))

"""MCP (Model Context Protocol) on the official ``mcp`` SDK, both ways.

- :class:`MCPToolset`: use the tools of any MCP server (stdio command, streamable-HTTP URL, or a
  legacy HTTP+SSE URL ending in ``/sse``).
- :func:`serve` / :func:`build_server`: expose a :class:`~agentkit.ToolRegistry` as an MCP server;
  ``python -m agentkit.mcp serve module:registry [--http --port N]`` does it from a shell.

Needs the ``mcp`` extra (``pip install 'agentkit[mcp]'``); ``import agentkit`` never loads it.
"""

from __future__ import annotations

try:
    import mcp as _sdk  # noqa: F401 - the official SDK: absolute import, not this package
except ImportError as exc:  # pragma: no cover - depends on the environment
    from agentkit.errors import ConfigurationError

    raise ConfigurationError(
        "agentkit.mcp needs the MCP SDK: pip install 'agentkit[mcp]' (or pip install mcp)"
    ) from exc

from agentkit.mcp.connection import HttpServer, MCPConnectionError, StdioServer
from agentkit.mcp.server import build_server, load_registry, serve, serve_async
from agentkit.mcp.toolset import MCPToolset


def toolset_from_spec(spec: str, **options: object) -> MCPToolset:
    """A toolset from a CLI-style spec: a URL means HTTP (SSE when its path ends in ``/sse``), anything
    else a command line."""
    return MCPToolset.from_spec(spec, **options)


__all__ = [
    "HttpServer",
    "MCPConnectionError",
    "MCPToolset",
    "StdioServer",
    "build_server",
    "load_registry",
    "serve",
    "serve_async",
    "toolset_from_spec",
]

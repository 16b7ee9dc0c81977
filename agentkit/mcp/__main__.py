"""``python -m agentkit.mcp serve module:attr [--http] [--host H] [--port N]``.

``attr`` names a :class:`~agentkit.ToolRegistry`, a list of tools (or typed functions), or a
function returning either. The current directory is importable, as with uvicorn.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from agentkit.errors import ConfigurationError, ToolDefinitionError
from agentkit.registry import ToolRegistry


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentkit.mcp", description="agentkit over MCP")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="expose a ToolRegistry as an MCP server")
    serve_cmd.add_argument("target", help="module:attribute naming a ToolRegistry or a list of tools")
    serve_cmd.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")
    serve_cmd.add_argument("--timeout", type=float, default=60.0, help="seconds per tool call")
    args = parser.parse_args(argv)

    from agentkit.mcp.server import serve

    try:
        registry = load_registry(args.target)
    except (ConfigurationError, ToolDefinitionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve(
        registry,
        "http" if args.http else "stdio",
        host=args.host,
        port=args.port,
        path=args.path,
        timeout=args.timeout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m agentkit.mcp serve module:attr [--http] [--host H] [--port N]``.

``attr`` names a :class:`~agentkit.ToolRegistry`, a list of tools (or typed functions), or a
function returning either. The current directory is importable, as with uvicorn.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agentkit.errors import ConfigurationError, ToolDefinitionError


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

    from agentkit.mcp.server import load_registry, serve

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

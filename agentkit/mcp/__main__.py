"""``python -m agentkit.mcp serve module:attr [--http] [--host H] [--port N]``.

The same command as ``agentkit mcp serve`` (one implementation, one set of exit codes): ``attr``
names a :class:`~agentkit.ToolRegistry`, a list of tools (or typed functions), or a function
returning either. The current directory is importable, as with uvicorn.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from agentkit.cli import main as cli_main

    return cli_main(["mcp", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

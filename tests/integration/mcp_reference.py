"""The MCP reference servers from npm that the integration tests start.

They are pinned in tests/integration/mcp_npm (package.json and its lock file); ``make test`` installs them
with ``npm ci`` (from a warm npm cache, no network). A test run without make installs them the same way
the first time one is needed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port, wait_for_port

NPM_DIR = Path(__file__).parent / "mcp_npm"
EVERYTHING_JS = NPM_DIR / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"


def _installed() -> Path:
    if not EVERYTHING_JS.exists():
        subprocess.run(
            ["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NPM_DIR,
            check=True,
            timeout=600,
        )
    return EVERYTHING_JS


def everything_stdio() -> list[str]:
    """The command line of server-everything over stdio."""
    return ["node", str(_installed()), "stdio"]


@contextmanager
def everything_http(transport: str) -> Iterator[str]:
    """server-everything over ``sse`` (the legacy transport, at /sse) or ``streamableHttp`` (at /mcp),
    on a free port; yields the base URL ``http://127.0.0.1:PORT``."""
    port = free_port()
    process = subprocess.Popen(
        ["node", str(_installed()), transport],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, within=60.0)  # npx may fetch and start slowly
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)

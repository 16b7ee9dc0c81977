"""Tools that write to stdout, for the test that agentkit's stdio MCP server keeps its protocol stream
clean. ``PRINTING_TOOLS_REOPEN_STDOUT=1`` makes the module do what some hosts do at start-up: re-open
``sys.stdout`` on a descriptor of its own (here a duplicate of fd 1), so that it is no longer fd 1 itself."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from agentkit import ToolRegistry, tool

if os.environ.get("PRINTING_TOOLS_REOPEN_STDOUT") == "1":
    sys.stdout = io.TextIOWrapper(io.FileIO(os.dup(1), "w"), line_buffering=True)


@tool
def chatty_sync(text: str) -> str:
    """Prints from a worker thread (sync tools run on one) and runs a child that writes to its stdout."""
    print("printed by a sync tool", text)
    subprocess.run(["echo", "written by a child process"], check=True)
    return text


@tool
async def chatty_async(text: str) -> str:
    """Prints on the event loop and writes to fd 1 directly."""
    print("printed by an async tool", text)
    os.write(1, b"written to fd 1\n")
    return text


registry = ToolRegistry([chatty_sync, chatty_async])

"""Toolsets: sources of tools that must be open while they are used.

A plain tool is a function; a toolset is a connection (an MCP server, say) whose tools exist only
while it is open. ``Agent(toolsets=[...])`` opens each toolset for the length of one run and closes it
when the run ends, so a sync ``agent.run()`` (which gets its own event loop) works as well as
``arun``. A toolset the user already opened in the current loop is reused as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Protocol, runtime_checkable

from agentkit.registry import ToolRegistry
from agentkit.tool import Tool


@runtime_checkable
class Toolset(Protocol):
    """Anything that can lend its tools to one run."""

    def tools_for_run(self) -> AbstractAsyncContextManager[Sequence[Tool]]:
        """Open (or reuse) the toolset and yield its tools for the length of one run."""
        ...


async def open_toolsets(
    stack: AsyncExitStack, base: ToolRegistry, toolsets: Sequence[Toolset]
) -> ToolRegistry:
    """The registry for one run: ``base`` plus the tools of every toolset, opened on ``stack``.

    Without toolsets ``base`` itself is returned, so runs that use none pay nothing. A name clash
    raises :class:`ToolDefinitionError` (give the toolset a prefix).
    """
    if not toolsets:
        return base
    registry = ToolRegistry(base)
    for toolset in toolsets:
        for item in await stack.enter_async_context(toolset.tools_for_run()):
            registry.register(item)
    return registry

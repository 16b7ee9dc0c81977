"""The tool registry: lookup, OpenAI specs, validation and guarded execution of tool calls.

``execute`` never raises for a problem the model can fix: unknown tools, bad arguments, tools that
raise, time out or are refused approval all become an error :class:`ToolResult` whose text tells the
model what to change. Only cancellation propagates.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from agentkit.errors import (
    ModelFixableError,
    ModelRetry,
    ToolApprovalDenied,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolExecutionError,
    ToolTimeoutError,
    UnknownToolError,
)
from agentkit.messages import ToolCall
from agentkit.run_context import RunContext
from agentkit.tool import Tool, ToolLike, serialize_result
from agentkit.tool_result import ToolResult
from agentkit.tool_schema import unvalidated
from agentkit.tool_spec import ToolSpec

ApprovalCallback = Callable[[ToolCall, Tool], bool | Awaitable[bool]]
"""Decides whether a tool marked ``requires_approval`` may run this call."""


def as_tool(item: ToolLike) -> Tool:
    """A Tool as given, or one made from a plain typed function."""
    return item if isinstance(item, Tool) else Tool.from_function(item)


class ToolRegistry:
    """The tools an agent may call, by name."""

    def __init__(self, tools: Iterable[ToolLike] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._specs: list[ToolSpec] | None = None
        for item in tools:
            self.register(item)

    def register(self, item: ToolLike) -> Tool:
        """Add a tool (or a typed function); duplicate names are rejected."""
        new = as_tool(item)
        if new.name in self._tools:
            raise ToolDefinitionError(
                f"a tool named '{new.name}' is already registered; "
                "pass name=... to register it under another name"
            )
        self._tools[new.name] = new
        self._specs = None
        return new

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)
        self._specs = None

    def get(self, name: str) -> Tool:
        """The tool called ``name``, or :class:`UnknownToolError` listing the available ones."""
        found = self._tools.get(name)
        if found is None:
            available = ", ".join(sorted(self._tools)) or "(none)"
            shown = name if len(name) <= 100 else f"{name[:100]}...({len(name)} characters)"
            raise UnknownToolError(f"Unknown tool '{shown}'. Available tools: {available}.", tool_name=name)
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        """What the model is told about every tool (cached until the registry changes)."""
        if self._specs is None:
            self._specs = [t.spec() for t in self._tools.values()]
        return self._specs

    def validate(self, call: ToolCall) -> dict[str, Any]:
        """Validated keyword arguments for ``call``, or a :class:`ModelFixableError` saying what is wrong.

        Total: a validator that fails in any other way (arguments nested too deep for it, a schema
        that breaks on them) is reported as a :class:`ToolArgumentsError` too.
        """
        found = self.get(call.name)
        if call.arguments_error is not None:
            raise ToolArgumentsError(
                f"Invalid arguments for tool '{call.name}': {call.arguments_error}. "
                "Send the arguments as one JSON object.",
                tool_name=call.name,
            )
        try:
            return found.validate(call.arguments)
        except ModelFixableError:
            raise
        except Exception as exc:  # noqa: BLE001 - the model sent these arguments; it gets told
            raise unvalidated(call.name, exc) from None

    async def execute(
        self,
        call: ToolCall,
        context: RunContext[Any] | None = None,
        *,
        default_timeout: float | None = None,
        approve: ApprovalCallback | None = None,
    ) -> ToolResult:
        """Validate and run ``call``; every model-fixable failure becomes an error result."""
        try:
            arguments = self.validate(call)
            found = self._tools[call.name]
            if found.requires_approval:
                await self._check_approval(call, found, approve)
            # An inline tool runs on the event loop, where no timeout could interrupt it.
            timeout = (
                None if found.inline else found.timeout if found.timeout is not None else default_timeout
            )
            value = await self._invoke(found, arguments, context, timeout)
        except ModelFixableError as exc:
            return ToolResult(call, exc.message, is_error=True, error=exc)
        return ToolResult(call, serialize_result(value), value=value)

    @staticmethod
    async def _check_approval(call: ToolCall, found: Tool, approve: ApprovalCallback | None) -> None:
        if approve is None:
            raise ToolApprovalDenied(
                f"Tool '{call.name}' needs approval and no approver is configured; it was not run.",
                tool_name=call.name,
            )
        verdict = approve(call, found)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if not verdict:
            raise ToolApprovalDenied(
                f"The user did not approve running tool '{call.name}' with these arguments; it was not run. "
                "Try another approach or ask the user.",
                tool_name=call.name,
            )

    @staticmethod
    async def _invoke(
        found: Tool,
        arguments: dict[str, Any],
        context: RunContext[Any] | None,
        timeout: float | None,  # noqa: ASYNC109 - enforced with asyncio.timeout, per tool
    ) -> Any:
        import asyncio  # not at module level: `import agentkit` stays free of it

        deadline = asyncio.timeout(timeout) if timeout is not None else None
        try:
            if deadline is None:  # no timer to arm (inline tools, no limit): skip its bookkeeping
                return await found.invoke(arguments, context)
            async with deadline:
                return await found.invoke(arguments, context)
        except ModelRetry as exc:
            raise ToolExecutionError(exc.message, tool_name=found.name) from exc
        except TimeoutError as exc:
            if deadline is None or not deadline.expired():
                raise ToolExecutionError(
                    f"Tool '{found.name}' failed: TimeoutError: {exc}", tool_name=found.name
                ) from exc
            raise ToolTimeoutError(
                f"Tool '{found.name}' did not finish within {timeout:g} s and was abandoned.",
                tool_name=found.name,
            ) from None
        except ModelFixableError:
            raise
        except Exception as exc:
            raise ToolExecutionError(
                f"Tool '{found.name}' failed: {type(exc).__name__}: {exc}", tool_name=found.name
            ) from exc

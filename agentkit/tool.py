"""A tool: a named, described, validated callable that a model may ask to run.

Build one with the ``@tool`` decorator (bare or with options), ``Tool.from_function`` or
``Tool.from_schema`` for schemas that come from elsewhere (MCP, OpenAPI, benchmark suites).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any, overload

from pydantic import BaseModel
from pydantic_core import to_json

from agentkit.errors import ToolDefinitionError
from agentkit.run_context import RunContext
from agentkit.tool_schema import Validator, json_schema_validator, signature_schema
from agentkit.tool_spec import ToolSpec
from agentkit.tool_threads import tool_threads

TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def check_tool_name(name: str) -> str:
    """Reject names that OpenAI-compatible servers would refuse (``^[a-zA-Z0-9_-]{1,64}$``)."""
    if not isinstance(name, str) or not TOOL_NAME_PATTERN.match(name):
        raise ToolDefinitionError(
            f"invalid tool name {name!r}: use 1 to 64 characters from a-z, A-Z, 0-9, '_' and '-'"
        )
    return name


def serialize_result(value: Any) -> str:
    """Turn a tool's return value into the text the model reads.

    Strings pass through unchanged; pydantic models, dataclasses, dicts, lists, dates and the like
    become JSON; anything else falls back to ``str``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return to_json(value, fallback=str).decode()


class Tool:
    """A callable the model can use, with its JSON schema and argument validator."""

    __slots__ = (
        "_context_param",
        "_is_async",
        "_spec",
        "_validate",
        "description",
        "function",
        "inline",
        "name",
        "parameters",
        "requires_approval",
        "timeout",
    )

    def __init__(
        self,
        name: str,
        description: str,
        parameters: dict[str, Any],
        function: Callable[..., Any],
        *,
        validate: Validator,
        context_param: str | None = None,
        timeout: float | None = None,
        requires_approval: bool = False,
        inline: bool = False,
    ) -> None:
        if timeout is not None and timeout <= 0:
            raise ToolDefinitionError(f"tool '{name}': timeout must be positive, got {timeout}")
        self.name = check_tool_name(name)
        self.description = description
        self.parameters = parameters
        self.function = function
        self.timeout = timeout
        self.requires_approval = requires_approval
        self.inline = inline
        self._validate = validate
        self._context_param = context_param
        self._is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            type(function).__call__
        )
        self._spec = ToolSpec(name, description, parameters)

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        requires_approval: bool = False,
        inline: bool = False,
    ) -> Tool:
        """Make a tool of a typed function; the schema comes from its signature and docstring."""
        if not callable(function):
            raise ToolDefinitionError(f"a tool needs a callable, got {type(function).__name__}")
        tool_name: str = name or getattr(function, "__name__", "") or ""
        sig = signature_schema(function, tool_name)
        return cls(
            tool_name,
            description if description is not None else sig.description,
            sig.parameters,
            function,
            validate=sig.validate,
            context_param=sig.context_param,
            timeout=timeout,
            requires_approval=requires_approval,
            inline=inline,
        )

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        parameters: dict[str, Any],
        function: Callable[..., Any],
        *,
        timeout: float | None = None,
        requires_approval: bool = False,
        inline: bool = False,
        context_param: str | None = None,
    ) -> Tool:
        """Make a tool of an external JSON schema; ``function`` receives the validated arguments
        as keyword arguments, and the run's :class:`RunContext` as ``context_param`` when one is named
        (so it can report progress, say); that name must not be one of the schema's properties."""
        if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
            raise ToolDefinitionError(f"tool '{name}': parameters must be a JSON schema of type 'object'")
        properties = parameters.get("properties")
        if context_param is not None and isinstance(properties, dict) and context_param in properties:
            raise ToolDefinitionError(
                f"tool '{name}': context_param {context_param!r} is also a parameter of the schema"
            )
        return cls(
            name,
            description,
            parameters,
            function,
            validate=json_schema_validator(name, parameters),
            context_param=context_param,
            timeout=timeout,
            requires_approval=requires_approval,
            inline=inline,
        )

    @property
    def takes_context(self) -> bool:
        """Whether the tool receives the run's :class:`RunContext` (and so may report progress)."""
        return self._context_param is not None

    def spec(self) -> ToolSpec:
        """What the model is told about this tool (each backend renders it in its own format)."""
        return self._spec

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments, or :class:`ToolArgumentsError` with a message for the model."""
        return self._validate(arguments)

    async def invoke(self, arguments: dict[str, Any], context: RunContext[Any] | None = None) -> Any:
        """Run the tool on already-validated arguments.

        Sync functions run on a worker thread (:mod:`agentkit.tool_threads`) so a slow tool never blocks
        the event loop, its timeout can fire, and a tool that hangs is abandoned; ``inline=True`` skips
        that hop (tens of microseconds) for quick, pure functions that never block.
        """
        kwargs = arguments
        if self._context_param is not None:
            kwargs = {**arguments, self._context_param: context}
        if self._is_async:
            return await self.function(**kwargs)
        if self.inline:
            return self.function(**kwargs)
        result = await tool_threads.run(functools.partial(self.function, **kwargs))
        if inspect.isawaitable(result):
            return await result
        return result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly, as if it were not a tool."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r})"


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    requires_approval: bool = False,
    inline: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    requires_approval: bool = False,
    inline: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function (sync or async) into a :class:`Tool`.

    Use it bare (``@tool``) or with options (``@tool(name=..., timeout=5)``). ``requires_approval``
    makes every call wait for the agent's approval callback; ``inline`` runs a sync function on the
    event loop instead of a worker thread (only for quick functions that never block).
    """

    def wrap(fn: Callable[..., Any]) -> Tool:
        return Tool.from_function(
            fn,
            name=name,
            description=description,
            timeout=timeout,
            requires_approval=requires_approval,
            inline=inline,
        )

    if function is not None:
        return wrap(function)
    return wrap


ToolLike = Tool | Callable[..., Any] | Callable[..., Awaitable[Any]]
"""What ``Agent(tools=...)`` and ``ToolRegistry.register`` accept: a Tool or a plain typed function."""

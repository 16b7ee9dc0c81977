"""An agent used as a tool of another: ``researcher.as_tool()``.

The child runs as a nested run of the parent's: its own messages, context window and backend, but the
parent's cancellation, its place in the tree (``triage/researcher``: events, usage, budget), and a
session of its own beside the parent's, keyed by the call, so a parent resumed after a kill finds the
child where it stopped. What the child answers (its ``output_type``) is the tool's result; a child that
fails is a tool error the parent's model can act on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentkit.errors import ModelRetry, ToolDefinitionError, UserFacingError
from agentkit.events import FinalOutput
from agentkit.run_context import RunContext
from agentkit.tool import Tool
from agentkit.tool_schema import strip_titles

if TYPE_CHECKING:
    from agentkit.agent import Agent

_CONTEXT = "__agentkit_run_context"

_TASK = {
    "type": "object",
    "properties": {"task": {"type": "string", "description": "What the agent should do, in full."}},
    "required": ["task"],
}


def agent_tool(
    agent: Agent[Any, Any],
    *,
    name: str | None = None,
    description: str | None = None,
    input_type: type[BaseModel] | None = None,
    timeout: float | None = None,
) -> Tool:
    """The tool that runs ``agent`` on a task (see :meth:`agentkit.Agent.as_tool`)."""
    tool_name = name or agent.name
    about = description or agent.description
    if not about:
        raise ToolDefinitionError(
            f"agent '{agent.name}' has no description for the model to choose it by: pass "
            "Agent(description=...) or as_tool(description=...)"
        )
    if input_type is not None and not (isinstance(input_type, type) and issubclass(input_type, BaseModel)):
        raise ToolDefinitionError(f"as_tool(input_type=...) must be a pydantic model, got {input_type!r}")
    schema = _TASK if input_type is None else strip_titles(input_type.model_json_schema())

    async def run_child(**arguments: Any) -> Any:
        context: RunContext[Any] = arguments.pop(_CONTEXT)
        task = arguments["task"] if input_type is None else input_type(**arguments).model_dump_json()
        return await _run_child(agent, tool_name, task, context)

    # Without a timeout of its own the child is bounded by its own limits (max_steps, max_duration),
    # not by the parent's tool_timeout: `inline` marks a tool the registry never times out, and an
    # async tool runs on the event loop either way.
    return Tool.from_schema(
        tool_name,
        about,
        schema,
        run_child,
        context_param=_CONTEXT,
        timeout=timeout,
        inline=timeout is None,
    )


async def _run_child(agent: Agent[Any, Any], tool_name: str, task: str, context: RunContext[Any]) -> Any:
    call = context.call
    assert call is not None and context.tree is not None  # a per-call context, from the loop
    path = f"{context.path}/{agent.name}" if context.path else agent.name
    parts = path.split("/")
    if agent.name in parts[:-1]:
        raise ModelRetry(
            f"'{tool_name}' cannot run: the agents would call each other in a cycle ({path}); "
            "answer with what you have"
        )
    if len(parts) > context.tree.max_depth:
        raise ModelRetry(
            f"'{tool_name}' cannot run: agents are nested {len(parts)} deep, over max_depth="
            f"{context.tree.max_depth} ({path})"
        )
    session = context.session.child(call.id) if context.session is not None else None
    output: Any = None
    try:
        async for event in agent.child_events(
            task, context=context, path=path, session=session, deps=context.deps
        ):
            if context.emit is not None:
                context.emit(event)
            if isinstance(event, FinalOutput) and event.path.count("/") == path.count("/"):
                output = event.output
    except UserFacingError as exc:  # limits, a backend that failed, configuration: the parent decides
        raise ModelRetry(
            f"the '{tool_name}' agent stopped without an answer: {type(exc).__name__}: {exc}"
        ) from exc
    return output

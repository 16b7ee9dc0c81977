"""Typed events emitted by ``Agent.run_stream`` (and ``iter``, ``on_event``) as a run happens.

A run opens with ``RunStarted`` (the messages it starts from). One step is: ``StepStarted``, then
``ModelTextDelta`` pieces (when streaming), ``ModelResponded``, then for each tool call a
``ToolCallStarted``, any ``ToolProgress`` the tool reports while it runs, and, as each finishes, a
``ToolCallFinished``. A handoff is a ``HandedOff`` after the transfer call's result. A run ends with
``FinalOutput`` or ``RunFailed`` (after which the error is raised).

Every event carries ``path``: the agent that made it and the agents above it (``triage``,
``triage/researcher`` for an agent used as a tool by ``triage``). A child agent's events arrive in its
parent's stream between the parent's ``ToolCallStarted`` and ``ToolCallFinished`` of that call, with
the child's own ``RunStarted`` (naming the parent's run and call) and ``FinalOutput`` or
``RunFailed``; :func:`is_own` tells a run's own events from its children's.

Events are immutable ``NamedTuple`` records: several are made every step, and a named tuple is cheaper
to define at import (about a tenth of a frozen dataclass) and to create.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from agentkit.messages import AssistantMessage, Message, ToolCall, Usage
from agentkit.result import RunResult
from agentkit.tool_result import ToolResult


class RunStarted(NamedTuple):
    """The run begins from ``messages`` (system prompt, history or session, the prompt), with the
    tools the model may call in it (``tools``: their names, toolsets' tools included). A child run
    names the run and the tool call that started it."""

    run_id: str
    messages: tuple[Message, ...]
    tools: tuple[str, ...] = ()
    path: str = ""
    parent_run_id: str = ""
    parent_call_id: str = ""
    model: str = ""
    """The model the run starts on (its backend's ``model``), for traces."""
    provider: str = ""


class StepStarted(NamedTuple):
    step: int
    path: str = ""


class ModelTextDelta(NamedTuple):
    step: int
    text: str
    path: str = ""


class ModelResponded(NamedTuple):
    step: int
    message: AssistantMessage
    usage: Usage
    duration_s: float
    path: str = ""


class ToolCallStarted(NamedTuple):
    step: int
    call: ToolCall
    path: str = ""


class ToolProgress(NamedTuple):
    """A running tool reported progress (``RunContext.report_progress``; MCP progress notifications).

    ``progress`` and ``total`` are in the tool's own units (``total`` None when unknown)."""

    step: int
    call: ToolCall
    progress: float
    total: float | None
    message: str | None
    path: str = ""


class ToolCallFinished(NamedTuple):
    step: int
    call: ToolCall
    result: ToolResult
    duration_s: float
    path: str = ""


class HandedOff(NamedTuple):
    """Control passed from one agent to another; the conversation goes on under ``target``."""

    step: int
    source: str
    target: str
    path: str = ""
    model: str = ""
    """The model the conversation goes on with (the target's backend's ``model``)."""
    provider: str = ""


class OutputRejected(NamedTuple):
    """The final answer failed ``output_type`` validation; the model is asked again."""

    step: int
    error: str
    path: str = ""


class FinalOutput(NamedTuple):
    output: Any
    result: RunResult[Any]
    path: str = ""


class RunFailed(NamedTuple):
    error: BaseException
    result: RunResult[Any] | None
    path: str = ""


AgentEvent = (
    RunStarted
    | StepStarted
    | ModelTextDelta
    | ModelResponded
    | ToolCallStarted
    | ToolProgress
    | ToolCallFinished
    | HandedOff
    | OutputRejected
    | FinalOutput
    | RunFailed
)


def is_own(event: AgentEvent, path: str) -> bool:
    """Whether ``event`` was made by the run at ``path`` itself (or, after a handoff, by the agent it
    handed off to, which takes its place), not by one of its child agents below it."""
    return event.path.count("/") == path.count("/")

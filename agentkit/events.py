"""Typed events emitted by ``Agent.run_stream`` as a run happens.

A run opens with ``RunStarted`` (the messages it starts from). One step is: ``StepStarted``, then
``ModelTextDelta`` pieces (when streaming), ``ModelResponded``, then for each tool call a
``ToolCallStarted``, any ``ToolProgress`` the tool reports while it runs, and, as each finishes, a
``ToolCallFinished``. A run ends with ``FinalOutput`` or
``RunFailed`` (after which the error is raised).

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
    tools the model may call in it (``tools``: their names, toolsets' tools included)."""

    run_id: str
    messages: tuple[Message, ...]
    tools: tuple[str, ...] = ()


class StepStarted(NamedTuple):
    step: int


class ModelTextDelta(NamedTuple):
    step: int
    text: str


class ModelResponded(NamedTuple):
    step: int
    message: AssistantMessage
    usage: Usage
    duration_s: float


class ToolCallStarted(NamedTuple):
    step: int
    call: ToolCall


class ToolProgress(NamedTuple):
    """A running tool reported progress (``RunContext.report_progress``; MCP progress notifications).

    ``progress`` and ``total`` are in the tool's own units (``total`` None when unknown)."""

    step: int
    call: ToolCall
    progress: float
    total: float | None
    message: str | None


class ToolCallFinished(NamedTuple):
    step: int
    call: ToolCall
    result: ToolResult
    duration_s: float


class OutputRejected(NamedTuple):
    """The final answer failed ``output_type`` validation; the model is asked again."""

    step: int
    error: str


class FinalOutput(NamedTuple):
    output: Any
    result: RunResult[Any]


class RunFailed(NamedTuple):
    error: BaseException
    result: RunResult[Any] | None


AgentEvent = (
    RunStarted
    | StepStarted
    | ModelTextDelta
    | ModelResponded
    | ToolCallStarted
    | ToolProgress
    | ToolCallFinished
    | OutputRejected
    | FinalOutput
    | RunFailed
)

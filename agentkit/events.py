"""Typed events emitted by ``Agent.run_stream`` as a run happens.

A run opens with ``RunStarted`` (the messages it starts from). One step is: ``StepStarted``, then
``ModelTextDelta`` pieces (when streaming), ``ModelResponded``, then for each tool call a
``ToolCallStarted`` and, as each finishes, a ``ToolCallFinished``. A run ends with ``FinalOutput`` or
``RunFailed`` (after which the error is raised).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.messages import AssistantMessage, Message, ToolCall, Usage
from agentkit.registry import ToolResult
from agentkit.result import RunResult


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The run begins from ``messages`` (system prompt, history or session, the prompt)."""

    run_id: str
    messages: tuple[Message, ...]


@dataclass(frozen=True, slots=True)
class StepStarted:
    step: int


@dataclass(frozen=True, slots=True)
class ModelTextDelta:
    step: int
    text: str


@dataclass(frozen=True, slots=True)
class ModelResponded:
    step: int
    message: AssistantMessage
    usage: Usage
    duration_s: float


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    step: int
    call: ToolCall


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    step: int
    call: ToolCall
    result: ToolResult
    duration_s: float


@dataclass(frozen=True, slots=True)
class OutputRejected:
    """The final answer failed ``output_type`` validation; the model is asked again."""

    step: int
    error: str


@dataclass(frozen=True, slots=True)
class FinalOutput:
    output: Any
    result: RunResult[Any]


@dataclass(frozen=True, slots=True)
class RunFailed:
    error: BaseException
    result: RunResult[Any] | None


AgentEvent = (
    RunStarted
    | StepStarted
    | ModelTextDelta
    | ModelResponded
    | ToolCallStarted
    | ToolCallFinished
    | OutputRejected
    | FinalOutput
    | RunFailed
)

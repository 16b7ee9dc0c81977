"""The result of an agent run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from agentkit.messages import Message, Usage

OutputT = TypeVar("OutputT")

StopReason = Literal[
    "final_answer",
    "max_steps",
    "max_handoffs",
    "usage_limit",
    "max_duration",
    "cancelled",
    "tool_loop",
    "output_retries",
    "error",
]
"""Why a run ended: a final answer, or which limit (or cancellation) stopped it."""


@dataclass
class RunResult(Generic[OutputT]):
    """What a run produced. ``output`` is ``None`` unless ``stop_reason`` is ``"final_answer"``."""

    output: OutputT | None
    messages: list[Message]
    usage: Usage
    steps: int
    stop_reason: StopReason
    run_id: str = ""
    text: str | None = field(default=None)
    """The final assistant text as the model wrote it (before ``output_type`` parsing)."""
    agent: str = ""
    """The name of the agent that ended the run (after handoffs, the one that answered)."""
    usage_by_agent: dict[str, Usage] = field(default_factory=dict)
    """Usage per agent of the run's tree, by path (``triage``, ``triage/researcher``, ``billing``);
    ``usage`` is their total."""

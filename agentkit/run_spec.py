"""What one run needs, fixed when it starts: a small frozen spec instead of the whole Agent.

The loop reads nothing else, so it can run for an ``Agent``, for a child agent inside another run, or
for anything else that can say which backend, tools, output type and limits to use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentkit.backends.base import Backend, ModelSettings, ToolChoice
from agentkit.errors import ConfigurationError
from agentkit.messages import Message
from agentkit.output import OutputSpec
from agentkit.registry import ApprovalCallback, ToolRegistry

if TYPE_CHECKING:
    from agentkit.context.config import ContextConfig


def check_positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True, slots=True)
class RunLimits:
    """When a run stops without a final answer.

    Args:
        max_steps: model calls allowed (:class:`~agentkit.errors.MaxStepsExceeded`).
        max_total_tokens: tokens allowed over every model call; a reply's ``max_tokens`` is capped
            to what is left, and a request that cannot fit stops the run before it is sent
            (:class:`~agentkit.errors.UsageLimitExceeded`).
        max_duration: wall-clock seconds for the whole run; what is in flight is cancelled
            (:class:`~agentkit.errors.DurationLimitExceeded`).
        output_retries: how often a final answer that fails ``output_type`` may be retried.
        max_repeated_failures: how often the same failing call may repeat.
        max_handoffs: how often agents may hand the conversation to each other in one run
            (:class:`~agentkit.errors.HandoffLimitExceeded`).
    """

    max_steps: int = 20
    max_total_tokens: int | None = None
    max_duration: float | None = None
    output_retries: int = 2
    max_repeated_failures: int = 3
    max_handoffs: int = 10

    def __post_init__(self) -> None:
        check_positive("max_steps", self.max_steps)
        check_positive("max_handoffs", self.max_handoffs)
        check_positive("max_total_tokens", self.max_total_tokens, allow_none=True)
        check_positive("max_duration", self.max_duration, allow_none=True)
        if self.output_retries < 0 or self.max_repeated_failures < 1:
            raise ConfigurationError("output_retries must be >= 0 and max_repeated_failures >= 1")


InputFilter = Callable[[Sequence[Message]], Sequence[Message]]
"""Chooses which of the history so far a handoff's target sees (its system prompt comes first anyway)."""


@dataclass(frozen=True, slots=True)
class HandoffTarget:
    """What the loop needs to pass the conversation to another agent: its name (its place in event
    paths), its system prompt, its run spec (built when the handoff happens) and the input filter."""

    name: str
    system_prompt: str
    spec: Callable[[], RunSpec]
    input_filter: InputFilter | None = None


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Everything the loop uses for one run (see :class:`~agentkit.Agent` for what each means)."""

    backend: Backend
    registry: ToolRegistry
    output: OutputSpec[Any]
    limits: RunLimits = field(default_factory=RunLimits)
    tool_choice: ToolChoice = "auto"
    settings: ModelSettings = field(default_factory=ModelSettings)
    max_parallel_tools: int = 8
    tool_timeout: float | None = 60.0
    approve: ApprovalCallback | None = None
    context: ContextConfig | None = None
    name: str = "agent"
    """The agent's name: its segment in event paths and per-agent usage."""
    handoffs: Mapping[str, HandoffTarget] = field(default_factory=dict)
    """The agents this one may hand the conversation to, by the name of their transfer tool."""

"""User-facing settings of context management (``Agent(context=ContextConfig(...))``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agentkit.errors import ConfigurationError

if TYPE_CHECKING:
    from agentkit.backends.counting import TokenCounter
    from agentkit.context.policy import ContextPolicy


@dataclass(frozen=True)
class ContextConfig:
    """How an agent keeps every request within the model's context window.

    Args:
        policy: chooses the messages of each request (default :class:`DefaultPolicy`).
        context_window: the model's window in tokens; default: the backend's ``context_window``.
        reserve_tokens: tokens kept free for the reply; default ``settings.max_tokens``, else an eighth
            of the window (256 to 4096).
        tool_result_tokens: a tool result longer than this is cut (head and tail kept) as it is added;
            default a quarter of the budget.
        tool_limits: per-tool overrides of ``tool_result_tokens``, by tool name.
        summarize: summarize evicted messages through the backend into one running summary, shown
            after the system prompt.
        summary_tokens: the most tokens the summary may take (reserved in every request when on).
        counter: the token counter; default the backend's own (``Backend.token_counter()``).
    """

    policy: ContextPolicy | None = None
    context_window: int | None = None
    reserve_tokens: int | None = None
    tool_result_tokens: int | None = None
    tool_limits: Mapping[str, int] = field(default_factory=dict)
    summarize: bool = False
    summary_tokens: int = 512
    counter: TokenCounter | None = None

    def __post_init__(self) -> None:
        for name in ("context_window", "reserve_tokens", "tool_result_tokens"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigurationError(f"ContextConfig.{name} must be positive, got {value!r}")
        if self.summary_tokens <= 0:
            raise ConfigurationError(
                f"ContextConfig.summary_tokens must be positive, got {self.summary_tokens}"
            )
        bad = {k: v for k, v in self.tool_limits.items() if v <= 0}
        if bad:
            raise ConfigurationError(f"ContextConfig.tool_limits must be positive, got {bad}")


def default_reserve(window: int) -> int:
    """Tokens kept for the reply when nothing says how long it may be."""
    return max(256, min(4096, window // 8))

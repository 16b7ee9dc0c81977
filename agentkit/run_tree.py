"""One run and the runs it starts (agents used as tools, handoffs): a tree that shares accounting.

Every run of the tree records its usage under its path (``triage``, ``triage/researcher``), so the root's
result can report the total and a per-agent breakdown; an optional :class:`Budget` caps the steps and
tokens of the whole tree; ``max_depth`` stops agents from nesting without end (a cycle of agents that
use each other as tools).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agentkit.errors import ConfigurationError
from agentkit.messages import Usage


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits for a whole tree of runs: every agent's steps and tokens count against them.

    Args:
        max_steps: model calls allowed over the parent and every child.
        max_total_tokens: tokens allowed over the parent and every child.
    """

    max_steps: int | None = None
    max_total_tokens: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_total_tokens"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigurationError(f"Budget.{name} must be a positive integer, got {value!r}")


DEFAULT_MAX_DEPTH = 8
"""How deep agents may nest as tools of each other before a call is refused."""


class RunTree:
    """Accounting shared by the runs of one tree (thread-safe: sync tools may start child runs)."""

    def __init__(self, budget: Budget | None = None, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.budget = budget
        self.max_depth = max_depth
        self._lock = threading.Lock()
        self._usage: dict[str, Usage] = {}
        self.steps = 0
        """Model calls made so far by every run of the tree (counted only under a budget)."""
        self.tokens = 0
        """Tokens used so far by every run of the tree (counted only under a budget)."""

    def charge(self, usage: Usage) -> None:
        """Count one model call against the budget."""
        with self._lock:
            self.steps += 1
            self.tokens += usage.total_tokens

    def record(self, path: str, usage: Usage) -> None:
        """Add a finished (or stopped) run's usage under its path."""
        if not usage.requests and not usage.total_tokens:
            return
        with self._lock:
            found = self._usage.get(path)
            self._usage[path] = usage if found is None else found + usage

    def spent(self) -> Literal["max_steps", "usage_limit"] | None:
        """Which of the budget's limits the tree has reached, if any."""
        budget = self.budget
        if budget is None:
            return None
        if budget.max_steps is not None and self.steps >= budget.max_steps:
            return "max_steps"
        if budget.max_total_tokens is not None and self.tokens >= budget.max_total_tokens:
            return "usage_limit"
        return None

    def spent_message(self, spent: Literal["max_steps", "usage_limit"]) -> str:
        budget = self.budget
        assert budget is not None
        if spent == "max_steps":
            return (
                f"the agents of this run made {self.steps} model calls, reaching the budget's "
                f"max_steps={budget.max_steps}"
            )
        return (
            f"the agents of this run used {self.tokens} tokens, reaching the budget's "
            f"max_total_tokens={budget.max_total_tokens}"
        )

    def report(
        self, own: Usage, current: Usage, path: str, paths: Sequence[str]
    ) -> tuple[Usage, dict[str, Usage]]:
        """A run's usage report: its total over itself and every run it started (children, earlier
        agents of a handoff: all the agents it was, ``paths``), and per agent. ``own`` is the run's
        whole usage; ``current`` what the agent now at ``path`` used since it took over. A run that
        started none reports ``own`` as it is."""
        by_agent = self.usage_by_agent()
        by_agent[path] = by_agent[path] + current if path in by_agent else current
        if len(by_agent) == 1:
            return own, by_agent
        mine = [(p, p + "/") for p in paths]
        total = Usage()
        for key, usage in by_agent.items():
            if any(key == p or key.startswith(below) for p, below in mine):
                total = total + usage
        return total, by_agent

    def usage_by_agent(self) -> dict[str, Usage]:
        with self._lock:
            return dict(self._usage)

    def total_under(self, path: str) -> Usage:
        """Usage of ``path`` and every run below it (a child agent's subtree)."""
        total = Usage()
        prefix = path + "/"
        with self._lock:
            for key, usage in self._usage.items():
                if key == path or key.startswith(prefix):
                    total = total + usage
        return total

"""One run and the runs it starts (agents used as tools, handoffs): a tree that shares accounting.

Every run of the tree records its usage under its path (``triage``, ``triage/researcher``), so the root's
result can report the total and a per-agent breakdown; an optional :class:`Budget` caps the steps and
tokens of the whole tree; ``max_depth`` stops agents from nesting without end (a cycle of agents that
use each other as tools).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

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

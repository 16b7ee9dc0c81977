"""The run context: what a tool may learn about the run that called it.

A tool parameter annotated with ``RunContext`` (or ``RunContext[MyDeps]``) is filled in by agentkit
and never shown to the model, so tools can reach shared dependencies (a database handle, an HTTP
client, user settings) without globals. A long tool can also tell the caller how far it got with
:meth:`RunContext.report_progress` (shown by ``run_stream`` as ``ToolProgress`` events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from agentkit.messages import Message, ToolCall, Usage

DepsT = TypeVar("DepsT")

ProgressListener = Callable[[ToolCall, float, "float | None", "str | None"], None]
"""Receives a tool's progress reports: the call, progress, total (if known) and a message."""


@dataclass
class RunContext(Generic[DepsT]):
    """Read-mostly view of the current run, handed to tools that ask for it."""

    deps: DepsT
    run_id: str = ""
    step: int = 0
    usage: Usage = field(default_factory=Usage)
    messages: Sequence[Message] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    call: ToolCall | None = None
    """The tool call this context was handed to, when the run loop gave the call a context of its own
    (it does while someone listens for progress)."""
    progress_listener: ProgressListener | None = field(default=None, repr=False, compare=False)
    """Where :meth:`report_progress` goes: set by the run loop while ``run_stream`` is consumed."""

    def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Tell whoever watches the run how far this tool call got (``progress`` of ``total``, both in
        the tool's own units). A no-op when nothing listens; safe to call from a sync tool's thread."""
        listener = self.progress_listener
        if listener is not None and self.call is not None:
            listener(self.call, progress, total, message)

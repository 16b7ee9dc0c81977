"""The run context: what a tool may learn about the run that called it.

A tool parameter annotated with ``RunContext`` (or ``RunContext[MyDeps]``) is filled in by agentkit
and never shown to the model, so tools can reach shared dependencies (a database handle, an HTTP
client, user settings) without globals. A long tool can also tell the caller how far it got with
:meth:`RunContext.report_progress` (shown by ``run_stream`` as ``ToolProgress`` events), and a tool
that runs work of its own (a child agent) reaches the run's cancellation, session and event stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from agentkit.events import ToolProgress
from agentkit.messages import Message, ToolCall, Usage

if TYPE_CHECKING:
    from agentkit.cancellation import CancellationToken
    from agentkit.events import AgentEvent
    from agentkit.run_tree import RunTree
    from agentkit.sessions.base import Session

DepsT = TypeVar("DepsT")

EventSink = Callable[["AgentEvent"], None]
"""Hands an event to whoever watches the run; safe to call from any thread."""


@dataclass
class RunContext(Generic[DepsT]):
    """Read-mostly view of the current run, handed to tools that ask for it.

    A tool that takes the context gets one of its own per call, with ``call`` set.
    """

    deps: DepsT
    run_id: str = ""
    step: int = 0
    usage: Usage = field(default_factory=Usage)
    messages: Sequence[Message] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    call: ToolCall | None = None
    """The tool call this context was handed to."""
    emit: EventSink | None = field(default=None, repr=False, compare=False)
    """Where a tool's events go (progress, a child agent's steps): set while someone watches the run
    (``run_stream``, ``iter``, ``on_event``); ``None`` otherwise."""
    cancel: CancellationToken | None = field(default=None, repr=False, compare=False)
    """The run's cancellation token, when it has one: work a tool starts should stop when it fires."""
    path: str = ""
    """The agent running the tool, and the agents above it (``triage/researcher``)."""
    session: Session | None = field(default=None, repr=False, compare=False)
    """The session the run journals to, if any (a child agent journals beside it)."""
    tree: RunTree | None = field(default=None, repr=False, compare=False)
    """Accounting shared with the runs this one starts (agents used as tools)."""

    def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Tell whoever watches the run how far this tool call got (``progress`` of ``total``, both in
        the tool's own units). A no-op when nothing listens; safe to call from a sync tool's thread."""
        if self.emit is not None and self.call is not None:
            self.emit(ToolProgress(self.step, self.call, progress, total, message))

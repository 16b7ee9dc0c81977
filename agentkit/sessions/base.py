"""The session protocol, and how a stored conversation is continued or resumed."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from agentkit.errors import ConfigurationError, SessionError
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage


@runtime_checkable
class Session(Protocol):
    """A durable conversation: the run loop appends every message and tool result as it happens.

    A run holds the session's :meth:`lease` from before it reads the history until it ends, so two
    runners of one conversation cannot interleave their turns.
    """

    @property
    def session_id(self) -> str: ...

    def load(self) -> list[Message]:
        """The conversation so far, each tool result right after its call's message, in call order."""
        ...

    def append(self, message: Message) -> None:
        """Journal one message. A tool result whose call already has one is ignored. Raises
        :class:`~agentkit.errors.SessionBusyError` while another run holds the lease."""
        ...

    def child(self, key: str) -> Session:
        """The session of work this conversation starts (an agent used as a tool, keyed by the tool
        call): beside this one in the same store, under the id ``<this id>/<key>``, created if missing."""
        ...

    def lease(self, owner: str | None = None) -> AbstractContextManager[object]:
        """Hold the session for one run: entering raises :class:`~agentkit.errors.SessionBusyError`
        while another holder's lease is live; a holder that died loses it after an expiry (see
        :mod:`agentkit.sessions.lease`). ``owner`` describes the holder in that error."""
        ...


@dataclass
class Continuation:
    """Where a stored conversation stands.

    ``pending`` holds the calls of a step that was interrupted before all of its results were
    journaled (``done``: the results that were); ``messages`` then ends with that step's assistant
    message. ``final`` is the answer of a run that had already finished.
    """

    messages: list[Message]
    pending: Sequence[ToolCall] = ()
    done: dict[str, ToolMessage] = field(default_factory=dict)
    final: AssistantMessage | None = None


def continuation(history: Sequence[Message]) -> Continuation:
    """Split ``history`` into what a resumed run starts from (O(size of the last step))."""
    messages = list(history)
    end = len(messages)
    start = end
    while start > 0 and isinstance(messages[start - 1], ToolMessage):
        start -= 1
    if start == 0:
        return Continuation(messages)
    last = messages[start - 1]
    if not isinstance(last, AssistantMessage):
        return Continuation(messages)
    if not last.tool_calls:
        return Continuation(messages, final=last if start == end else None)
    done = {m.tool_call_id: m for m in messages[start:end] if isinstance(m, ToolMessage)}
    if all(call.id in done for call in last.tool_calls):
        return Continuation(messages)
    return Continuation(messages[:start], pending=last.tool_calls, done=done)


def _calls(calls: Sequence[ToolCall]) -> str:
    return ", ".join(f"{call.name} ({call.id})" for call in calls)


def interrupted_error(state: Continuation) -> SessionError:
    """Why a new prompt cannot continue a conversation whose last step is unfinished: which of that
    step's calls have a journaled result and which do not."""
    unanswered = [call for call in state.pending if call.id not in state.done]
    answered = [call for call in state.pending if call.id in state.done]
    detail = f"unanswered: {_calls(unanswered)}" + (f"; answered: {_calls(answered)}" if answered else "")
    return SessionError(
        f"the last run of this conversation was interrupted with {len(unanswered)} of "
        f"{len(state.pending)} tool call(s) unanswered ({detail}); resume it first with "
        "run(None, session=...), which runs only the unanswered calls, or fork or delete the session"
    )


def run_lease(session: Session) -> AbstractContextManager[object]:
    """The lease a run holds on ``session`` from before it reads the history until it ends."""
    lease = getattr(session, "lease", None)
    if lease is None:
        raise ConfigurationError(
            f"{type(session).__name__} has no lease() method: a session store must implement the whole "
            "Session protocol (agentkit.sessions.Session), lease included, so that two runs of one "
            "conversation cannot interleave"
        )
    from agentkit.sessions.lease import default_owner

    context: AbstractContextManager[object] = lease(f"agentkit run, {default_owner()}")
    return context

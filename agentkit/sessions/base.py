"""The session protocol, and how a stored conversation is continued or resumed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage


@runtime_checkable
class Session(Protocol):
    """A durable conversation: the run loop appends every message and tool result as it happens."""

    @property
    def session_id(self) -> str: ...

    def load(self) -> list[Message]:
        """The conversation so far, each tool result right after its call's message, in call order."""
        ...

    def append(self, message: Message) -> None:
        """Journal one message. A tool result whose call already has one is ignored."""
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

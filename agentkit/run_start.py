"""Where a run starts: the messages it begins from, given a prompt and the conversation so far.

A pure function of its inputs: it reads no session and writes none. The loop journals ``new`` before
its first step, so a session is written in one place only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agentkit.errors import ConfigurationError
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage

PendingCalls = tuple[Sequence[ToolCall], Mapping[str, ToolMessage]]
"""An interrupted step: its calls in order, and the results already journaled, by call id."""


@dataclass(slots=True)
class StartPlan:
    """The messages a run begins from.

    ``new``: those not yet in the session, in order. ``pending``: the calls of an interrupted step to
    finish before the first model call. ``final``: the answer of a resumed run that had already ended
    (the caller parses it and returns without calling the model when it passes ``output_type``).
    """

    messages: list[Message]
    new: list[Message] = field(default_factory=list)
    pending: PendingCalls | None = None
    final: AssistantMessage | None = None


def plan_start(prompt: str | None, past: Sequence[Message], *, system_prompt: str) -> StartPlan:
    """Continue ``past`` with ``prompt``, or resume it when ``prompt`` is ``None``.

    A system message is put first when ``past`` has none (and journaled only for a new conversation).
    Raises :class:`~agentkit.errors.SessionError` for a new prompt on an interrupted run and
    :class:`ConfigurationError` for nothing to resume.
    """
    from agentkit.sessions.base import continuation, interrupted_error  # small; not on `import agentkit`

    state = continuation(past)
    if prompt is not None:
        if state.pending:
            raise interrupted_error(state)
        messages = list(past)
        new: list[Message] = []
        if not messages or not isinstance(messages[0], SystemMessage):
            system = SystemMessage(content=system_prompt)
            messages.insert(0, system)
            if not past:
                new.append(system)
        user = UserMessage(content=prompt)
        messages.append(user)
        new.append(user)
        return StartPlan(messages, new)
    if not past:
        raise ConfigurationError("nothing to resume: the conversation is empty; pass a prompt")
    messages = state.messages
    if not isinstance(messages[0], SystemMessage):
        messages.insert(0, SystemMessage(content=system_prompt))
    pending = (state.pending, state.done) if state.pending else None
    return StartPlan(messages, pending=pending, final=state.final)

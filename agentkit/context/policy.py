"""Context policies: which messages of the history go into the next request.

A policy is any callable ``policy(messages, window) -> messages``: ``messages`` is the whole history
(oversized tool results already cut), ``window`` the run's :class:`~agentkit.context.manager.ContextWindow`
(token counts, the limit, a per-run ``state`` dict, ``evict`` to feed the running summary). Whatever a
custom policy returns is checked for budget and call/result pairing before it is sent.

:class:`DefaultPolicy` keeps the system prompt, the task (first user message), the latest user message
and the latest turn, and evicts the rest oldest first in whole units: a user message, an assistant
reply, or an assistant message with tool calls together with all of its results. It works
incrementally (O(new messages) a step, each unit evicted once) and, once over the limit, evicts down to
``low_water`` of it, so the kept prefix stays the same for several steps (local backends reuse their KV
cache across steps only while the prefix is unchanged).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from agentkit.errors import ConfigurationError
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage

if TYPE_CHECKING:
    from agentkit.context.manager import ContextWindow


class ContextPolicy(Protocol):
    def __call__(self, messages: Sequence[Message], window: ContextWindow) -> Sequence[Message]: ...


class Selection(list[Message]):
    """A policy's answer with its token total already known (saves re-summing the request)."""

    tokens: int = 0


class _Unit:
    __slots__ = ("calls", "end", "pinned", "start", "tokens")

    def __init__(self, start: int, tokens: int, calls: Sequence[str] = ()) -> None:
        self.start = start
        self.end = start + 1
        self.tokens = tokens
        self.calls = calls
        self.pinned = False


@dataclass
class _State:
    processed: int = 0
    total: int = 0
    units: deque[_Unit] = field(default_factory=deque)
    pinned_out: list[_Unit] = field(default_factory=list)
    """Pinned units already passed by eviction; all older than anything in ``units``."""
    task: _Unit | None = None
    latest_user: _Unit | None = None


class DefaultPolicy:
    """Keep system prompt, task, latest user message and latest turn; evict whole units oldest first."""

    def __init__(self, *, low_water: float = 0.8) -> None:
        if not 0 < low_water <= 1:
            raise ConfigurationError(f"low_water must be in (0, 1], got {low_water}")
        self.low_water = low_water

    def __call__(self, messages: Sequence[Message], window: ContextWindow) -> Selection:
        state = window.state.get(self)
        if not isinstance(state, _State) or state.processed > len(messages):
            state = window.state[self] = _State()
        self._ingest(state, messages, window)
        self._evict(state, messages, window)
        selection = Selection()
        if messages and isinstance(messages[0], SystemMessage):
            selection.append(messages[0])
        for unit in state.pinned_out:
            selection.extend(messages[unit.start : unit.end])
        if state.units:
            selection.extend(messages[state.units[0].start : state.units[-1].end])
        selection.tokens = state.total
        return selection

    @staticmethod
    def _ingest(state: _State, messages: Sequence[Message], window: ContextWindow) -> None:
        counts = window.counts
        for index in range(state.processed, len(messages)):
            message = messages[index]
            tokens = counts[index]
            state.total += tokens
            if index == 0 and isinstance(message, SystemMessage):
                continue
            last = state.units[-1] if state.units else None
            if isinstance(message, ToolMessage):
                if last is None or last.end != index or message.tool_call_id not in last.calls:
                    raise ConfigurationError(
                        f"message {index} is a result for tool call {message.tool_call_id!r} with no "
                        "matching call right before it; providers reject such a conversation "
                        "(fix message_history)"
                    )
                last.end = index + 1
                last.tokens += tokens
                continue
            # A list: a turn has a few calls, and building a set costs more than searching them.
            calls = [c.id for c in message.tool_calls] if isinstance(message, AssistantMessage) else ()
            unit = _Unit(index, tokens, calls)
            if isinstance(message, UserMessage):
                unit.pinned = True
                if state.task is None:
                    state.task = unit
                else:
                    previous = state.latest_user
                    if previous is not None:
                        previous.pinned = False
                        if previous in state.pinned_out:
                            state.pinned_out.remove(previous)
                            state.total -= previous.tokens
                            window.evict(messages[previous.start : previous.end])
                    state.latest_user = unit
            state.units.append(unit)
        state.processed = len(messages)

    def _evict(self, state: _State, messages: Sequence[Message], window: ContextWindow) -> None:
        limit = window.limit
        if state.total <= limit:
            return
        target = int(limit * self.low_water)
        units = state.units
        while state.total > target and len(units) > 1:
            unit = units.popleft()
            if unit.pinned:
                state.pinned_out.append(unit)
                continue
            state.total -= unit.tokens
            window.evict(messages[unit.start : unit.end])

"""What each agent of a conversation sees across handoffs, and its context window.

After a handoff the agent that takes over sees its own system prompt, the history so far through its
``input_filter``, and what comes after whole. The agents that handed the conversation on keep their
context windows here, so an agent that gets it back goes on counting only what is new: a long ping-pong
of handoffs costs what its new messages cost, not the whole history again at every handoff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.messages import Message, SystemMessage
from agentkit.run_spec import HandoffTarget, RunSpec

if TYPE_CHECKING:
    from agentkit.context.manager import ContextWindow


def new_window(spec: RunSpec) -> ContextWindow | None:
    """A fresh context window for ``spec`` (``None`` when its context management is off)."""
    if spec.context is None:
        return None
    from agentkit.context.manager import ContextWindow

    return ContextWindow(spec.context, spec.backend, spec.registry.specs(), spec.settings)


class Handover:
    """The views and windows of the agents that handed a run's conversation on, by path."""

    def __init__(self) -> None:
        self._parked: dict[str, tuple[list[Message], ContextWindow | None]] = {}

    def switch(
        self,
        source: tuple[str, list[Message], ContextWindow | None],
        target: HandoffTarget,
        target_path: str,
        spec: RunSpec,
        messages: list[Message],
        upto: int,
    ) -> tuple[list[Message], ContextWindow | None]:
        """Park ``source`` (its path, what it saw, its window) and return what ``target`` sees and the
        window it goes on with: the history up to ``upto`` through its input filter, then the rest."""
        self._parked[source[0]] = (source[1], source[2])
        before = messages[1:upto]
        if target.input_filter is not None:
            before = list(target.input_filter(before))
        seen_before, window = self._parked.pop(target_path, (None, None))
        system = SystemMessage(content=target.system_prompt)
        if seen_before and seen_before[0] == system:
            system = seen_before[0]  # the same object, so the window's first view still matches
        seen = [system, *before, *messages[upto:]]
        if window is None or seen_before is None or not _extends(seen, seen_before, window):
            window = new_window(spec)
        return seen, window


def _extends(seen: list[Message], before: list[Message], window: ContextWindow) -> bool:
    """Whether ``seen`` starts with what ``window`` has already taken in of ``before`` (the very same
    message objects): only then may the window go on from where it was instead of counting anew."""
    taken = window.taken
    if len(seen) < taken or len(before) < taken:
        return False
    return all(seen[i] is before[i] for i in range(taken))

"""Handoffs: an agent passes the conversation to another, which goes on under its own system prompt,
tools and model.

``Agent(handoffs=[billing, refunds])`` gives the model one ``transfer_to_<name>`` tool per target,
described by the target's description. The loop applies a transfer once the step's calls are done
(:meth:`agentkit.loop.RunLoop._hand_off`); this module builds the tools and says where a stored
conversation left off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.run_spec import InputFilter
from agentkit.tool import Tool

if TYPE_CHECKING:
    from agentkit.agent import Agent

TRANSFER_PREFIX = "transfer_to_"

_REASON = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "description": "Why this agent should take over (optional)."},
    },
}


@dataclass(frozen=True)
class Handoff:
    """A handoff target, with options. ``Agent(handoffs=[...])`` takes these or plain agents.

    Args:
        agent: the agent that takes over.
        tool_name: the transfer tool's name (default ``transfer_to_<agent name>``).
        description: what the model is told about it (default: the agent's description).
        input_filter: chooses which of the history so far the target sees (see :func:`without_tool_calls`).
    """

    agent: Agent[Any, Any]
    tool_name: str | None = None
    description: str | None = None
    input_filter: InputFilter | None = None

    @property
    def name(self) -> str:
        return self.tool_name or f"{TRANSFER_PREFIX}{self.agent.name}"


def transfer_tool(handoff: Handoff) -> Tool:
    """The tool whose call passes the conversation to ``handoff.agent``."""
    target = handoff.agent.name
    description = handoff.description or handoff.agent.description or f"The {target} agent."
    message = f"Transferred to {target}; {target} takes the conversation from here."

    def transfer(reason: str = "") -> str:
        return message

    return Tool.from_schema(
        handoff.name,
        f"Hand the conversation to the {target} agent: {description}",
        _REASON,
        transfer,
        inline=True,
    )


def without_tool_calls(messages: Sequence[Message]) -> list[Message]:
    """An input filter: the history without tool calls and their results (the conversation's words
    only), so the target starts clean of another agent's tools."""
    kept: list[Message] = []
    for message in messages:
        if isinstance(message, ToolMessage):
            continue
        if isinstance(message, AssistantMessage) and message.tool_calls:
            if message.content:
                kept.append(AssistantMessage(content=message.content))
            continue
        kept.append(message)
    return kept


def last_transfer(messages: Sequence[Message], transfers: Sequence[str]) -> tuple[str, int] | None:
    """In a stored conversation, the last transfer that went through: its tool's name, and the index
    just past its step's results (where the new agent took over). ``None`` if there was none."""
    names = set(transfers)
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, ToolMessage) and message.name in names and not message.is_error:
            end = index + 1
            while end < len(messages) and isinstance(messages[end], ToolMessage):
                end += 1
            return message.name, end
    return None

"""The outcome of one tool call, as the registry returns it and the run's events carry it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.errors import ModelFixableError
from agentkit.messages import ToolCall, ToolMessage


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one tool call, ready to become a :class:`ToolMessage`."""

    call: ToolCall
    content: str
    is_error: bool = False
    value: Any = None
    error: ModelFixableError | None = None

    def to_message(self) -> ToolMessage:
        return ToolMessage(
            tool_call_id=self.call.id, name=self.call.name, content=self.content, is_error=self.is_error
        )

"""Approval of risky tool calls (``requires_approval``) for the CLI.

The question itself is :class:`agentkit.approval.TerminalApprover`'s (it refuses when stdin is not a
terminal); the CLI only pauses its live display first, so the question is readable. ``--yes``
approves everything.
"""

from __future__ import annotations

from collections.abc import Callable

from agentkit.approval import TerminalApprover, approve_all
from agentkit.messages import ToolCall
from agentkit.registry import ApprovalCallback
from agentkit.tool import Tool


def approver_for(yes: bool, pause: Callable[[], None] | None = None) -> ApprovalCallback:
    """The approval callback for the CLI's options."""
    if yes:
        return approve_all
    asker = TerminalApprover(refusal_hint="pass --yes to approve every call")

    async def approve(call: ToolCall, found: Tool) -> bool:
        if pause is not None:
            pause()
        return await asker(call, found)

    return approve

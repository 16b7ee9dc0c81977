"""Approval of risky tool calls (``requires_approval``) on the terminal.

The question is asked on the controlling terminal with the live display paused. Without a terminal
nothing is approved (the model is told the call was refused) unless ``--yes`` was given.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from agentkit.messages import ToolCall
from agentkit.registry import ApprovalCallback
from agentkit.tool import Tool


def terminal_approver(pause: Callable[[], None] | None = None) -> ApprovalCallback | None:
    """Ask y/N on the terminal; ``None`` (refuse everything) when stdin is not a terminal."""
    if not sys.stdin.isatty():
        return None

    def approve(call: ToolCall, tool: Tool) -> bool:
        if pause is not None:
            pause()
        arguments = json.dumps(call.arguments, ensure_ascii=False, indent=2)
        sys.stderr.write(f"\nThe model wants to run '{tool.name}' with:\n{arguments}\nAllow? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes")

    return approve


def approve_all(call: ToolCall, tool: Tool) -> bool:
    """``--yes``: approve every call (for trusted, unattended use)."""
    return True


def approver_for(yes: bool, pause: Callable[[], None] | None = None) -> Any:
    return approve_all if yes else terminal_approver(pause)

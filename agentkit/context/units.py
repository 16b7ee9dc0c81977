"""Checks on the call/result pairing that every provider enforces.

An assistant message with tool calls must be followed by exactly one result for each call, and a tool
result must answer a call of the assistant message before it; OpenAI-compatible servers answer HTTP 400
otherwise. These checks guard requests built by custom policies, and serve the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentkit.messages import AssistantMessage, Message, ToolMessage


def pairing_problems(messages: Sequence[Message]) -> list[str]:
    """Every way ``messages`` breaks call/result pairing, as readable lines (empty when valid)."""
    problems: list[str] = []
    open_calls: set[str] = set()
    answered: set[str] = set()
    for index, message in enumerate(messages):
        if isinstance(message, ToolMessage):
            if message.tool_call_id not in open_calls:
                problems.append(
                    f"message {index}: tool result {message.tool_call_id!r} has no call before it"
                )
            elif message.tool_call_id in answered:
                problems.append(f"message {index}: a second result for call {message.tool_call_id!r}")
            answered.add(message.tool_call_id)
            continue
        missing = open_calls - answered
        if missing:
            problems.append(f"message {index}: calls {sorted(missing)} have no result before it")
        open_calls, answered = set(), set()
        if isinstance(message, AssistantMessage):
            open_calls = {call.id for call in message.tool_calls}
    missing = open_calls - answered
    if missing:
        problems.append(f"end: calls {sorted(missing)} have no result")
    return problems

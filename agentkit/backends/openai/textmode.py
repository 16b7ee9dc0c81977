"""Tool calling for servers or models without native tools: instructions in the prompt, calls parsed
from the reply text with the project's parser (:mod:`agentkit.parsing`).

The conversation is rewritten so such a server accepts it: earlier tool calls become assistant text in
the format the instructions taught, and tool results become user messages naming the call they answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.templates import render
from agentkit.tool_spec import ToolSpec


def instructions(tools: Sequence[ToolSpec], tool_choice: str) -> str:
    """The tool instructions for the system prompt (empty when no tool may be called)."""
    if not tools or tool_choice == "none":
        return ""
    from agentkit.parsing import tool_instructions

    text = tool_instructions(list(tools))
    forced = render("text_tool_choice.jinja", tool_choice=tool_choice)
    return f"{text}\n\n{forced}".strip()


def call_text(call: ToolCall) -> str:
    """How an earlier tool call is shown to the model: the ``<tool_call>`` JSON form."""
    arguments: Any = call.arguments if call.arguments_error is None else (call.raw_arguments or "")
    body = json.dumps({"name": call.name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def rewrite(messages: Sequence[Message], extra_system: str) -> list[dict[str, Any]]:
    """Chat dicts with no tool roles or tool-call fields, tool instructions added to the system prompt."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            content = f"{message.content}\n\n{extra_system}" if extra_system else message.content
            out.append({"role": "system", "content": content})
        elif isinstance(message, AssistantMessage):
            parts = [message.content] if message.content else []
            parts += [call_text(c) for c in message.tool_calls]
            out.append({"role": "assistant", "content": "\n".join(parts)})
        elif isinstance(message, ToolMessage):
            out.append({"role": "user", "content": render("text_tool_result.jinja", message=message)})
        elif isinstance(message, UserMessage):
            out.append({"role": "user", "content": message.content})
    if extra_system and not any(m["role"] == "system" for m in out):
        out.insert(0, {"role": "system", "content": extra_system})
    return _merge_consecutive_users(out)


def _merge_consecutive_users(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Several tool results in a row become one user message: many chat templates require
    user/assistant turns to alternate."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and message["role"] == "user" and merged[-1]["role"] == "user":
            merged[-1] = {"role": "user", "content": merged[-1]["content"] + "\n\n" + message["content"]}
        else:
            merged.append(message)
    return merged


def parse_reply(text: str | None, tool_names: Sequence[str]) -> AssistantMessage:
    """The assistant message for a text reply: tool calls of known tools parsed out of it."""
    if not text or not tool_names:
        return AssistantMessage(content=text)
    from agentkit.parsing import parse_tool_calls

    parsed = parse_tool_calls(text, tool_names=list(tool_names))
    if not parsed.tool_calls:
        return AssistantMessage(content=text)
    return AssistantMessage(content=parsed.content or None, tool_calls=list(parsed.tool_calls))

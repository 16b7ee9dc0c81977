"""Turning a conversation into prompt tokens with the model's own chat template, for every engine.

An engine hands over its :class:`ChatTemplate` (the template text, how it renders, how its tokenizer
encodes); everything else here is shared, so both engines write the same prompt for the same request.
Templates that support tools (they mention ``tools`` and render ``tool_calls``: Qwen2.5/3, Hermes,
Llama 3.1, ...) get ``tools=`` and the messages in the Hugging Face tool-calling shape. Others (SmolLM2)
have no tool role at all: the tool instructions go into the system message, past calls are written
back as the ``<tool_call>`` text the grammar produces, and tool results become a user turn of
``<tool_response>`` blocks, the convention Hermes-style models were trained on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from agentkit.backends.local.constraints import CALL_CLOSE, CALL_OPEN, render_call
from agentkit.errors import BackendError
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.templates import render
from agentkit.tool_spec import ToolSpec


class ChatTemplate(Protocol):
    """What an engine provides: its chat template's text, rendering, and its tokenizer."""

    @property
    def source(self) -> str:
        """The Jinja text of the template (read to detect tool support and the call format)."""
        ...

    def apply(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        """The prompt text for chat-shaped ``messages``, ending with the assistant turn's opening."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of prompt text (special tokens written by the template are parsed as such)."""
        ...


def template_supports_tools(template: str | None) -> bool:
    return bool(template) and "tools" in template and "tool_calls" in template  # type: ignore[operator]


def _call_text(call: ToolCall) -> str:
    if call.raw_arguments is not None:  # unparseable arguments: show the model what it wrote
        return (
            CALL_OPEN
            + '{"name": '
            + json.dumps(call.name)
            + ', "arguments": '
            + call.raw_arguments
            + "}"
            + CALL_CLOSE
        )
    return render_call(call.name, call.arguments)


def assistant_text(message: AssistantMessage) -> str:
    """An assistant message as the text the model would have written for it."""
    parts = [message.content] if message.content else []
    parts.extend(_call_text(call) for call in message.tool_calls)
    return "\n".join(parts)


class PromptRenderer:
    """Renders requests for one chat template; ``native`` says whether it takes ``tools=``."""

    def __init__(self, chat: ChatTemplate, *, native: bool | None = None) -> None:
        self.chat = chat
        template = chat.source
        if not isinstance(template, str) or not template:
            raise BackendError("this model has no chat template; agentkit needs one to prompt a chat model")
        self.template: str = template
        self.native = template_supports_tools(template) if native is None else native

    def _text_messages(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[dict[str, str]]:
        from agentkit.parsing import tool_instructions

        tool_text = tool_instructions(tools, listing=True) if tools else ""
        out: list[dict[str, str]] = []
        pending: list[ToolMessage] = []

        def flush() -> None:
            if pending:
                out.append({"role": "user", "content": render("local_tool_results.jinja", results=pending)})
                pending.clear()

        for index, message in enumerate(messages):
            if isinstance(message, ToolMessage):
                pending.append(message)
                continue
            flush()
            if isinstance(message, SystemMessage):
                if index == 0:
                    out.append(
                        {
                            "role": "system",
                            "content": render(
                                "local_system.jinja", system=message.content, tool_text=tool_text
                            ),
                        }
                    )
                else:
                    out.append({"role": "system", "content": message.content})
            elif isinstance(message, UserMessage):
                out.append({"role": "user", "content": message.content})
            elif isinstance(message, AssistantMessage):
                out.append({"role": "assistant", "content": assistant_text(message)})
        flush()
        if tool_text and (not messages or not isinstance(messages[0], SystemMessage)):
            out.insert(0, {"role": "system", "content": tool_text})
        return out

    @staticmethod
    def _native_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for message in messages:
            if isinstance(message, AssistantMessage):
                item: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
                if message.tool_calls:
                    item["tool_calls"] = [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in message.tool_calls
                    ]
                out.append(item)
            elif isinstance(message, ToolMessage):
                out.append(
                    {
                        "role": "tool",
                        "tool_call_id": message.tool_call_id,
                        "name": message.name,
                        "content": message.content,
                    }
                )
            else:
                out.append({"role": message.role, "content": message.content})
        return out

    def render(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> str:
        """The prompt text, ending with the assistant turn's opening."""
        try:
            if self.native:
                return self.chat.apply(
                    self._native_messages(messages),
                    [{"type": "function", "function": t.as_dict()} for t in tools] or None,
                )
            return self.chat.apply(self._text_messages(messages, tools), None)
        except Exception as exc:
            raise BackendError(
                f"the model's chat template failed on this conversation: {type(exc).__name__}: {exc}"
            ) from exc

    def encode(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> list[int]:
        """Prompt token ids (the template writes any special tokens itself)."""
        return self.chat.encode(self.render(messages, tools))

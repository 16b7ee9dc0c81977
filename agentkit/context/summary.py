"""The running summary of evicted messages, written by the model itself.

Each time messages are evicted, the backend is asked (prompts/summary_request.jinja) to fold them into
the previous summary, so there is one summary, updated incrementally, and each message is summarized
once. The request is cut to fit the window like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentkit.backends.base import Backend, ModelRequest, ModelSettings
from agentkit.backends.counting import TokenCounter
from agentkit.context.truncation import truncate_middle
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolMessage, Usage, UserMessage
from agentkit.templates import render


def _entries(messages: Sequence[Message]) -> list[dict[str, str]]:
    entries = []
    for message in messages:
        if isinstance(message, AssistantMessage):
            calls = ", ".join(f"{c.name}({c.raw_arguments or c.arguments})" for c in message.tool_calls)
            text = (message.content or "") + (f" [called {calls}]" if calls else "")
            entries.append({"role": "assistant", "text": text.strip()})
        elif isinstance(message, ToolMessage):
            entries.append({"role": f"tool {message.name}", "text": message.content})
        else:
            entries.append({"role": message.role, "text": message.content})
    return entries


def _transcript(messages: Sequence[Message]) -> str:
    return "\n".join(f"{e['role']}: {e['text']}" for e in _entries(messages))


async def update_summary(
    backend: Backend,
    counter: TokenCounter,
    previous: str | None,
    evicted: Sequence[Message],
    *,
    window: int,
    summary_tokens: int,
) -> tuple[str, Usage, ModelRequest]:
    """Fold ``evicted`` into ``previous``; returns the new summary, the call's usage and its request."""
    system = SystemMessage(content=render("summary_system.jinja"))
    empty = UserMessage(content=render("summary_request.jinja", previous=previous, transcript=""))
    fixed = counter.count_message(system) + counter.count_message(empty) + counter.overhead
    room = int((window - summary_tokens) / counter.scale) - fixed - 16
    transcript = _transcript(evicted)
    transcript = truncate_middle(transcript, room, counter.count_text) if room > 0 else ""
    user = UserMessage(content=render("summary_request.jinja", previous=previous, transcript=transcript))
    request = ModelRequest(
        messages=(system, user),
        tool_choice="none",
        settings=ModelSettings(max_tokens=summary_tokens, temperature=0.0),
    )
    response = await backend.complete(request)
    text = (response.message.content or "").strip() or (previous or "")
    return text, response.usage, request

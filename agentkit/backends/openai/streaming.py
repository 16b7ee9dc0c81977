"""Assembling one reply from chat-completions stream chunks.

Servers split a tool call across chunks: the first fragment carries its ``index``, ``id`` and name,
later ones only argument text. Some servers omit ``index`` or send a whole call in one chunk; the
assembler groups fragments by index when given, else by id, else onto the last open call. Usage comes
from the final chunk (``stream_options.include_usage``) when the server sends it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agentkit.backends.base import ModelResponse
from agentkit.backends.openai.convert import invalid_response, parse_tool_calls, reply_text, usage_from
from agentkit.messages import AssistantMessage


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    malformed: object = None
    """A fragment that was not a tool-call object, kept so the model is told (see ``parse_tool_calls``)."""


class StreamAssembler:
    """Feed chunk dicts with :meth:`add`; each returns the text delta it carried (``""`` if none)."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: list[_PartialCall] = []
        self._by_index: dict[int, _PartialCall] = {}
        self._by_id: dict[str, _PartialCall] = {}
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.chunks = 0

    @property
    def text(self) -> str:
        return "".join(self._text)

    def add(self, chunk: dict[str, Any]) -> str:
        """Take one chunk; :class:`InvalidResponseError` when its structure is not a chat-completion
        chunk's (the content of each tool call is the model's, checked later)."""
        self.chunks += 1
        model, usage, choices = chunk.get("model"), chunk.get("usage"), chunk.get("choices") or []
        self.model = model if isinstance(model, str) and model else self.model
        if usage and isinstance(usage, dict):
            self.usage = usage
        if not isinstance(choices, list):
            raise invalid_response(f"a stream chunk's 'choices' is a {type(choices).__name__}, not a list")
        delta_text = ""
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # agentkit asks for one choice; ignore any other
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                raise invalid_response(f"a stream chunk's delta is a {type(delta).__name__}, not an object")
            content = reply_text(delta.get("content"))
            if content:
                self._text.append(content)
                delta_text += content
            fragments = delta.get("tool_calls") or []
            for fragment in fragments if isinstance(fragments, list) else [fragments]:
                self._add_call_fragment(fragment)
            finish = choice.get("finish_reason")
            if finish:
                self.finish_reason = finish if isinstance(finish, str) else str(finish)
        return delta_text

    def _add_call_fragment(self, fragment: object) -> None:
        if not isinstance(fragment, dict) or not isinstance(fragment.get("function") or {}, dict):
            self._calls.append(_PartialCall(malformed=fragment))
            return
        index = fragment.get("index") if isinstance(fragment.get("index"), int) else None
        call_id = fragment.get("id") if isinstance(fragment.get("id"), str) else None
        function = fragment.get("function") or {}
        partial: _PartialCall | None = None
        if index is not None:
            partial = self._by_index.get(index)
        elif call_id:
            partial = self._by_id.get(call_id)
        elif self._calls:
            partial = self._calls[-1]
        if partial is None:
            partial = _PartialCall()
            self._calls.append(partial)
            if index is not None:
                self._by_index[index] = partial
        if call_id and not partial.id:
            partial.id = call_id
            self._by_id[call_id] = partial
        name = function.get("name")
        if name and isinstance(name, str) and not partial.name:
            partial.name = name  # some servers repeat the name in every fragment
        arguments = function.get("arguments")
        if arguments:
            partial.arguments.append(arguments if isinstance(arguments, str) else _dumps(arguments))

    def response(self) -> ModelResponse:
        """The assembled reply."""
        raw_calls: list[object] = [
            c.malformed
            if c.malformed is not None
            else {"id": c.id, "function": {"name": c.name, "arguments": "".join(c.arguments)}}
            for c in self._calls
        ]
        content = self.text
        return ModelResponse(
            message=AssistantMessage(content=content or None, tool_calls=parse_tool_calls(raw_calls)),
            usage=usage_from(self.usage),
            finish_reason=self.finish_reason,
            model=self.model,
        )


def _dumps(value: Any) -> str:
    """Arguments a server sent as JSON rather than JSON text; what cannot be written back as text
    (nested past the recursion limit) becomes text that fails to parse, so the model is told."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        return f"(arguments of type {type(value).__name__} that cannot be read as JSON)"


class Delivered:
    """Text already streamed to the caller, shared by the attempts of one streamed call.

    A retried attempt replays the reply from its start; :meth:`accept` passes on only what goes
    beyond the delivered text, as long as the replay matches it. Linear in the reply's length.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.length = 0
        self.diverged = False
        self._position = 0  # characters of the current attempt seen so far
        self._replay = ""  # the delivered text, joined when an attempt starts

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def start_attempt(self) -> None:
        self._position = 0
        self._replay = self.text if self.length else ""

    def accept(self, piece: str) -> str:
        """The part of ``piece`` (the current attempt's next text) not yet delivered."""
        if self.diverged:
            return ""
        start = self._position
        self._position += len(piece)
        fresh = piece
        if start < self.length:
            expected = self._replay[start : start + len(piece)]
            if not piece.startswith(expected):
                self.diverged = True  # a different reply: the final response is authoritative
                return ""
            fresh = piece[len(expected) :]
        if fresh:
            self._parts.append(fresh)
            self.length += len(fresh)
        return fresh

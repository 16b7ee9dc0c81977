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
from agentkit.backends.openai.convert import parse_tool_calls, usage_from
from agentkit.messages import AssistantMessage


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)


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
        self.chunks += 1
        self.model = chunk.get("model") or self.model
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        delta_text = ""
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue  # agentkit asks for one choice; ignore any other
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                self._text.append(content)
                delta_text += content
            for fragment in delta.get("tool_calls") or []:
                self._add_call_fragment(fragment)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return delta_text

    def _add_call_fragment(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index")
        call_id = fragment.get("id")
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
        if function.get("name") and not partial.name:
            partial.name = function["name"]  # some servers repeat the name in every fragment
        arguments = function.get("arguments")
        if arguments:
            partial.arguments.append(arguments if isinstance(arguments, str) else _dumps(arguments))

    def response(self) -> ModelResponse:
        """The assembled reply."""
        raw_calls = [
            {"id": c.id, "function": {"name": c.name, "arguments": "".join(c.arguments)}} for c in self._calls
        ]
        content = self.text
        return ModelResponse(
            message=AssistantMessage(content=content or None, tool_calls=parse_tool_calls(raw_calls)),
            usage=usage_from(self.usage),
            finish_reason=self.finish_reason,
            model=self.model,
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


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

"""Token counters: how many tokens each message, the tool specs and the fixed prompt overhead take.

Counting is per message and cached by the caller, so a request costs O(new messages) to measure. Each
backend chooses its counter (``Backend.token_counter()``); the kinds every backend can use live here:

- :class:`BackendCounter`: the backend's own ``count_tokens`` (a local model's tokenizer and chat
  template). Each message is measured as what it adds to a small probe conversation, which is exact for
  templates that render messages one after another (ChatML and kin) and errs high otherwise.
- :class:`EstimateCounter`: UTF-8 bytes / 3 plus overhead, calibrated against the ``input_tokens`` a
  server reports; the one estimate, for backends without a tokenizer.

Provider-specific counters live with their backend (the OpenAI encodings in
``agentkit.backends.openai.counting``) and share :class:`Calibrated`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic_core import to_json

from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.tool_spec import ToolSpec

if TYPE_CHECKING:
    from agentkit.backends.base import Backend


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens for one model. ``scale`` multiplies every total (1.0 when counts are exact)."""

    exact: bool
    scale: float

    def count_message(self, message: Message) -> int:
        """Tokens ``message`` adds to a prompt, its per-message overhead included."""
        ...

    def count_tools(self, tools: Sequence[ToolSpec]) -> int:
        """Tokens the tool schemas add to a prompt."""
        ...

    def count_text(self, text: str) -> int:
        """Tokens of plain text (used to cut oversized tool results)."""
        ...

    @property
    def overhead(self) -> int:
        """Fixed tokens of every request (reply priming), beyond its messages and tools."""
        ...

    def observe(self, estimated: int, actual: int) -> None:
        """Learn from a server's reported prompt size for a request this counter estimated."""
        ...


class Calibrated:
    """Shared calibration: ``scale`` becomes the largest actual/estimated ratio seen, plus a margin."""

    exact = False
    margin = 0.10
    scale: float = 1.0
    _worst: float = 0.0

    def observe(self, estimated: int, actual: int) -> None:
        if self.exact or estimated <= 0 or actual <= 0:
            return
        self._worst = max(self._worst, actual / estimated)
        # Never trust a shrinking estimate below 0.75: one short reply must not loosen the budget much.
        self.scale = min(max(self._worst * (1 + self.margin), 0.75), 4.0)


def spec_text(spec: ToolSpec) -> str:
    """A tool spec as the JSON text estimates are made from (longer than most servers' rendering)."""
    return json.dumps(spec.as_dict(), ensure_ascii=False)


def call_text(call: ToolCall) -> str:
    """A call's name and arguments as the text its tokens are counted from. Total: arguments that no
    JSON encoder writes (a lone surrogate, nesting past pydantic's limit) are measured all the same."""
    if call.raw_arguments:
        return call.name + call.raw_arguments
    try:
        # pydantic-core's encoder: several times faster than json.dumps, on the hot path of every step.
        return call.name + to_json(call.arguments).decode()
    except ValueError:  # PydanticSerializationError: a lone surrogate, or nested past its limit
        return call.name + _stand_in(call.arguments)


def _stand_in(value: object) -> str:
    """Text as long as ``value``'s JSON (about), built without recursion, for counting only."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError, TypeError):
        pass
    parts: list[str] = []
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            parts.append("{}")
            for key, sub in item.items():
                parts.append(f'"{key}":')
                stack.append(sub)
        elif isinstance(item, list | tuple):
            parts.append("[]")
            stack.extend(item)
        elif isinstance(item, str):
            parts.append(f'"{item}",')
        else:
            parts.append("0,")
    return "".join(parts)


class EstimateCounter(Calibrated):
    """About three UTF-8 bytes a token (errs high for English and code) plus 6 tokens a message."""

    def __init__(self, *, bytes_per_token: float = 3.0, per_message: int = 6, scale: float = 1.0) -> None:
        self.bytes_per_token = bytes_per_token
        self.per_message = per_message
        self.scale = scale

    def count_text(self, text: str) -> int:
        return int(len(text.encode("utf-8", "surrogatepass")) / self.bytes_per_token) + 1

    def count_message(self, message: Message) -> int:
        # count_text inlined: this runs for every message of every run.
        per_token = self.bytes_per_token
        tokens = (
            self.per_message
            + int(len((message.content or "").encode("utf-8", "surrogatepass")) / per_token)
            + 1
        )
        if isinstance(message, AssistantMessage):
            for call in message.tool_calls:
                tokens += int(len(call_text(call).encode("utf-8", "surrogatepass")) / per_token) + 9
        elif isinstance(message, ToolMessage):
            tokens += (
                int(len((message.tool_call_id + message.name).encode("utf-8", "surrogatepass")) / per_token)
                + 1
            )
        return tokens

    def count_tools(self, tools: Sequence[ToolSpec]) -> int:
        return sum(self.count_text(spec_text(t)) + 8 for t in tools)

    @property
    def overhead(self) -> int:
        return 8


_MEMO_SIZE = 8192
"""Message counts a BackendCounter remembers (oldest forgotten first)."""


class BackendCounter:
    """Counts with ``backend.count_tokens`` (tokenizer plus chat template), one message at a time.

    A message's count is what it adds to a probe conversation ending where such a message may follow
    (a system probe before a user message, a user probe before an assistant reply, an assistant call
    before a tool result). The system message is counted whole, so it carries the template's fixed
    tokens (BOS, generation prompt). Templates that merge neighbours (several tool results in one turn)
    make the sum err high, never low.
    """

    exact = True
    scale = 1.0
    overhead = 0

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._memo: dict[str, int] = {}
        sys_probe = SystemMessage(content="S")
        user_probe = UserMessage(content="U")
        self._prefix: dict[str, list[Message]] = {
            "system": [],
            "user": [sys_probe],
            "assistant": [sys_probe, user_probe],
        }
        self._base: dict[str, int] = {"system": 0}
        self._base["user"] = self._count(self._prefix["user"])
        self._base["assistant"] = self._count(self._prefix["assistant"])
        self._text_base = self._count([sys_probe, UserMessage(content="")])
        self._tools_base = self._base["user"]

    def _count(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        return self._backend.count_tokens(messages, tools)

    def count_message(self, message: Message) -> int:
        # A template render plus tokenization costs about a millisecond; a conversation continued from
        # a session brings back the same messages as new objects, so remember counts by content.
        key = _memo_key(message)
        found = self._memo.get(key) if key else None
        if found is None:
            found = self._measure(message)
            if not key:
                return found
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = found
        return found

    def _measure(self, message: Message) -> int:
        if isinstance(message, ToolMessage):
            call = ToolCall(id=message.tool_call_id, name=message.name, arguments={})
            prefix = [*self._prefix["assistant"], AssistantMessage(tool_calls=[call])]
            return max(self._count([*prefix, message]) - self._count(prefix), 1)
        prefix = self._prefix[message.role]
        return max(self._count([*prefix, message]) - self._base[message.role], 1)

    def count_tools(self, tools: Sequence[ToolSpec]) -> int:
        if not tools:
            return 0
        return max(self._count(self._prefix["user"], tools) - self._tools_base, 0)

    def count_text(self, text: str) -> int:
        return max(self._count([self._prefix["user"][0], UserMessage(content=text)]) - self._text_base, 0)

    def observe(self, estimated: int, actual: int) -> None:
        return None


def _memo_key(message: Message) -> str:
    try:
        return message.model_dump_json()
    except ValueError:  # a lone surrogate or arguments nested past pydantic's limit: not cached
        return ""


def count_prompt(counter: TokenCounter, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
    """Tokens of a whole prompt by ``counter``: every message, the tool specs and the fixed overhead."""
    total = sum(counter.count_message(m) for m in messages) + counter.count_tools(tools) + counter.overhead
    return int(total * counter.scale) if counter.scale != 1.0 else total

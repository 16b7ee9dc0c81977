"""Token counters: how many tokens each message, the tool schemas and the fixed prompt overhead take.

Counting is per message and cached by the caller, so a request costs O(new messages) to measure.
Three kinds, chosen per backend by :func:`counter_for`:

- :class:`BackendCounter`: the backend's own ``count_tokens`` (a local model's tokenizer and chat
  template). Each message is measured as what it adds to a small probe conversation, which is exact for
  templates that render messages one after another (ChatML and kin) and errs high otherwise.
- :class:`OpenAICounter`: the o200k_base / cl100k_base encodings shipped inside ``bpe-openai`` (no
  download), with OpenAI's per-message overhead. Exact for OpenAI's models; for other models behind an
  OpenAI-compatible server it is an estimate, scaled by a safety factor that is calibrated against the
  ``input_tokens`` the server reports.
- :class:`EstimateCounter`: bytes / 3 plus overhead, calibrated the same way; the fallback.
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic_core import to_json

from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens for one model. ``scale`` multiplies every total (1.0 when counts are exact)."""

    exact: bool
    scale: float

    def count_message(self, message: Message) -> int:
        """Tokens ``message`` adds to a prompt, its per-message overhead included."""
        ...

    def count_tools(self, tools: Sequence[dict[str, Any]]) -> int:
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


class _Calibrated:
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


def _call_text(call: ToolCall) -> str:
    # pydantic-core's JSON encoder: several times faster than json.dumps, and on the hot path of every step.
    return call.name + (call.raw_arguments or to_json(call.arguments).decode())


class EstimateCounter(_Calibrated):
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
                tokens += int(len(_call_text(call).encode("utf-8", "surrogatepass")) / per_token) + 9
        elif isinstance(message, ToolMessage):
            tokens += (
                int(len((message.tool_call_id + message.name).encode("utf-8", "surrogatepass")) / per_token)
                + 1
            )
        return tokens

    def count_tools(self, tools: Sequence[dict[str, Any]]) -> int:
        return sum(self.count_text(json.dumps(t, ensure_ascii=False)) + 8 for t in tools)

    @property
    def overhead(self) -> int:
        return 8


_CHUNK = 200_000
"""Characters encoded at a time; bpe-openai refuses over 200,000 tokens in one call."""


class OpenAICounter(_Calibrated):
    """BPE counts with an encoding from ``bpe-openai`` and OpenAI's chat overhead (3 tokens a message,
    3 to prime the reply). ``exact=False`` (another model family) starts from a safety ``scale``."""

    def __init__(self, encoding: Any, *, exact: bool, scale: float = 1.0) -> None:
        self._encoding = encoding
        self.exact = exact
        self.scale = scale
        self._last: tuple[str | None, int] = (None, 0)

    @property
    def encoding_name(self) -> str:
        return str(self._encoding.name)

    def count_text(self, text: str) -> int:
        # A new tool result is counted twice in a row (the cut check, then the message): remember one.
        last = self._last  # one tuple, swapped whole: safe when runs on several threads share a counter
        if text is last[0]:
            return last[1]
        count = self._count_text(text)
        self._last = (text, count)
        return count

    def _count_text(self, text: str) -> int:
        if len(text) <= _CHUNK:
            return len(self._encoding.encode_ordinary(text))
        # Cut at whitespace so the pieces tokenize as they would whole (pre-tokenization splits there).
        total, start = 0, 0
        while start < len(text):
            end = min(start + _CHUNK, len(text))
            if end < len(text):
                space = text.rfind(" ", start + _CHUNK // 2, end)
                end = space if space > start else end
            total += len(self._encoding.encode_ordinary(text[start:end]))
            start = end
        return total

    def count_message(self, message: Message) -> int:
        tokens = 4 + self.count_text(message.content or "")
        if isinstance(message, AssistantMessage):
            tokens += sum(self.count_text(_call_text(c)) + 10 for c in message.tool_calls)
        elif isinstance(message, ToolMessage):
            tokens += self.count_text(message.tool_call_id + message.name) + 2
        return tokens

    def count_tools(self, tools: Sequence[dict[str, Any]]) -> int:
        # The JSON of a schema is longer than the server's own rendering of it: this errs high.
        return sum(self.count_text(json.dumps(t, ensure_ascii=False)) + 10 for t in tools) + (
            8 if tools else 0
        )

    @property
    def overhead(self) -> int:
        return 3


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

    def __init__(self, backend: Any) -> None:
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

    def _count(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] = ()) -> int:
        return int(self._backend.count_tokens(messages, tools))

    def count_message(self, message: Message) -> int:
        # A template render plus tokenization costs about a millisecond; a conversation continued from
        # a session brings back the same messages as new objects, so remember counts by content.
        key = message.model_dump_json()
        found = self._memo.get(key)
        if found is None:
            found = self._measure(message)
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

    def count_tools(self, tools: Sequence[dict[str, Any]]) -> int:
        if not tools:
            return 0
        return max(self._count(self._prefix["user"], tools) - self._tools_base, 0)

    def count_text(self, text: str) -> int:
        return max(self._count([self._prefix["user"][0], UserMessage(content=text)]) - self._text_base, 0)

    def observe(self, estimated: int, actual: int) -> None:
        return None


def _openai_encoding(model: str) -> tuple[Any, bool] | None:
    """(encoding, exact) for ``model`` from bpe-openai, or ``None`` when the package is missing."""
    try:
        import bpe_openai
    except ImportError:
        return None
    name = model.lower().rsplit("/", 1)[-1]
    try:
        encoding = bpe_openai.encoding_name_for_model(name)
    except Exception:  # noqa: BLE001 - not an OpenAI model: decided below
        encoding = None
    if encoding in ("o200k_base", "cl100k_base"):  # the two encodings the wheel ships
        return bpe_openai.get_encoding(encoding), True
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt")):
        return bpe_openai.get_encoding("o200k_base"), True
    return bpe_openai.get_encoding("o200k_base"), False


UNKNOWN_MODEL_SCALE = 1.3
"""Safety factor for a non-OpenAI model counted with o200k_base, until the server's counts calibrate it
(small-vocabulary models such as SmolLM2 need about 1.2 times as many tokens)."""


def openai_counter(model: str) -> TokenCounter:
    """The counter for ``model`` behind an OpenAI-compatible API."""
    found = _openai_encoding(model)
    if found is None:
        return EstimateCounter()
    encoding, exact = found
    return OpenAICounter(encoding, exact=exact, scale=1.0 if exact else UNKNOWN_MODEL_SCALE)


_counters: weakref.WeakKeyDictionary[Any, TokenCounter] = weakref.WeakKeyDictionary()


def counter_for(backend: Any) -> TokenCounter:
    """The best counter for ``backend``, one per backend, so its caches and calibration last across runs.

    A backend may offer its own through a ``token_counter()`` method. An OpenAI-compatible backend
    (``name`` starting with ``openai:``) gets :func:`openai_counter` for its model; any other backend
    that implements ``count_tokens`` itself gets a :class:`BackendCounter`; the rest an estimate.
    """
    try:
        return _counters[backend]
    except (KeyError, TypeError):
        pass
    counter = _new_counter(backend)
    with contextlib.suppress(TypeError):  # a backend that cannot be weakly referenced: no reuse
        _counters[backend] = counter
    return counter


def _new_counter(backend: Any) -> TokenCounter:
    from agentkit.backends.base import BaseBackend

    provided = getattr(backend, "token_counter", None)
    if callable(provided):
        counter: TokenCounter = provided()
        return counter
    model = getattr(backend, "model", None)
    if str(getattr(backend, "name", "")).startswith("openai:") and isinstance(model, str):
        return openai_counter(model)
    if getattr(type(backend), "count_tokens", None) not in (None, BaseBackend.count_tokens):
        return BackendCounter(backend)
    return EstimateCounter()

"""Token counts for models behind an OpenAI-compatible API.

The o200k_base / cl100k_base encodings ship inside ``bpe-openai`` (tiktoken would download them, which
fails offline), with OpenAI's per-message overhead. Exact for OpenAI's models; for other models behind
an OpenAI-compatible server (llama.cpp, vLLM, Ollama) it is an estimate, started at a safety ``scale``
and calibrated against the ``input_tokens`` the server reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentkit.backends.counting import Calibrated, EstimateCounter, TokenCounter, call_text, spec_text
from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.tool_spec import ToolSpec

_CHUNK = 200_000
"""Characters encoded at a time; bpe-openai refuses over 200,000 tokens in one call."""


class OpenAICounter(Calibrated):
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
            tokens += sum(self.count_text(call_text(c)) + 10 for c in message.tool_calls)
        elif isinstance(message, ToolMessage):
            tokens += self.count_text(message.tool_call_id + message.name) + 2
        return tokens

    def count_tools(self, tools: Sequence[ToolSpec]) -> int:
        # The JSON of a schema is longer than the server's own rendering of it: this errs high.
        return sum(self.count_text(spec_text(t)) + 10 for t in tools) + (8 if tools else 0)

    @property
    def overhead(self) -> int:
        return 3


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

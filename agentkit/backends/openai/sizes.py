"""Context window sizes of well-known hosted models: an OpenAI-compatible server does not say its own.

The table holds published limits (prompt plus reply) by model id prefix; the longest matching prefix
wins, so ``gpt-4o-mini-2024-07-18`` finds ``gpt-4o-mini``. ``OpenAIBackend(context_window=...)``
always takes precedence over this table.
"""

from __future__ import annotations

KNOWN_CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4-32k": 32_768,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
}


def known_context_window(model: str) -> int | None:
    """The published window of ``model`` (an OpenAI model id, any date suffix), or ``None``."""
    name = model.lower().rsplit("/", 1)[-1]
    best: str | None = None
    for prefix in KNOWN_CONTEXT_WINDOWS:
        if name.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return KNOWN_CONTEXT_WINDOWS[best] if best is not None else None

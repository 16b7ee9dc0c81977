"""Cutting an oversized tool result down to a token limit, keeping its head and tail.

Tool outputs (logs, pages, listings) carry most of their signal at the start and the end, so the
middle goes, and a visible marker tells the model how much was cut so it can ask for less.
"""

from __future__ import annotations

from collections.abc import Callable

HEAD_SHARE = 2 / 3
"""Part of the kept text taken from the start; the rest comes from the end."""

_MARKER = "\n[... {chars} characters ({lines} lines) cut from the middle of this output ...]\n"


def _cut(text: str, keep_chars: int) -> str:
    head = int(keep_chars * HEAD_SHARE)
    tail = keep_chars - head
    middle = text[head : len(text) - tail if tail else len(text)]
    marker = _MARKER.format(chars=len(middle), lines=middle.count("\n"))
    return text[:head] + marker + (text[len(text) - tail :] if tail else "")


def truncate_middle(text: str, max_tokens: int, count: Callable[[str], int]) -> str:
    """``text`` unchanged when it fits ``max_tokens`` (as measured by ``count``), else its head and
    tail around a marker saying how many characters and lines were removed, within ``max_tokens``.

    Work is bounded by the kept size, not the input size: a huge text is cut by characters first and
    only the kept part is counted.
    """
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    # No tokenizer makes more than 4 tokens of one character (a UTF-8 byte each, at worst), so a short
    # text fits without being counted: counting can cost a template render (BackendCounter).
    if 4 * len(text) + 1 <= max_tokens:
        return text
    # Text this long is (all but) sure to be over; cutting it uncounted keeps the work O(kept size).
    if len(text) <= max_tokens * 16 and count(text) <= max_tokens:
        return text
    keep = min(len(text), max_tokens * 4)
    marker_tokens = count(_MARKER.format(chars=len(text), lines=text.count("\n", 0, 1_000_000)))
    for _ in range(12):
        candidate = _cut(text, keep)
        used = count(candidate)
        if used <= max_tokens:
            return candidate
        room = max(max_tokens - marker_tokens, 0)
        keep = min(keep - 1, int(keep * room / max(used - marker_tokens, 1) * 0.95))
        if keep <= 0:
            break
    for fallback in (_cut(text, 0), f"[{len(text)} characters cut]", "[cut]"):
        if count(fallback) <= max_tokens:
            return fallback
    return ""  # a limit too small for any notice

"""Tool names: MCP allows names (dots, slashes, up to 128 characters) that OpenAI-compatible servers
reject, so every MCP tool gets a local name matching ``^[a-zA-Z0-9_-]{1,64}$``; calls map back to the
server's own name."""

from __future__ import annotations

import re
from collections.abc import Iterable

_INVALID = re.compile(r"[^a-zA-Z0-9_-]+")
MAX_LENGTH = 64


def sanitize_name(name: str, prefix: str | None = None) -> str:
    """``prefix_name`` with every run of invalid characters turned into ``_``, cut to 64 characters."""
    full = f"{prefix}_{name}" if prefix else name
    clean = _INVALID.sub("_", full).strip("_") or "tool"
    return clean[:MAX_LENGTH]


def local_names(remote: Iterable[str], prefix: str | None = None) -> dict[str, str]:
    """Map each server tool name to a distinct valid local name (``_2``, ``_3``... on collisions)."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for name in remote:
        base = sanitize_name(name, prefix)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            suffix = f"_{n}"
            candidate = base[: MAX_LENGTH - len(suffix)] + suffix
        taken.add(candidate)
        mapping[name] = candidate
    return mapping

"""A model's context length without loading it (read from config.json; a GGUF's header is read by
:mod:`agentkit.backends.local.gguf_file`).

``isinstance(backend, Backend)`` on Python 3.11 evaluates the ``context_window`` property, and the
context manager asks for it before the first request: neither may load the weights.
"""

from __future__ import annotations

import json
from pathlib import Path

CONTEXT_LENGTH_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length")
"""Where model configs keep the context length, by family."""


def config_context_length(directory: Path) -> int | None:
    """From a model directory's config.json (or its ``text_config`` for multimodal models)."""
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for scope in (config, config.get("text_config") or {}):
        for key in CONTEXT_LENGTH_KEYS:
            value = scope.get(key)
            if isinstance(value, int) and value > 0:
                return value
    return None

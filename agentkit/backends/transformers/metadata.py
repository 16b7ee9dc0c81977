"""A model's context length without loading it (read from config.json or a GGUF header).

``isinstance(backend, Backend)`` on Python 3.11 evaluates the ``context_window`` property, and the
context manager asks for it before the first request: neither may load the weights.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, BinaryIO

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
CONTEXT_LENGTH_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length")
"""Where model configs keep the context length, by family."""


def _read(handle: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF header")
    return struct.unpack(fmt, data)[0]


def _string(handle: BinaryIO) -> str:
    return handle.read(_read(handle, "<Q")).decode("utf-8", errors="replace")


def _skip(handle: BinaryIO, kind: int) -> None:
    if kind == _STRING:
        handle.seek(_read(handle, "<Q"), 1)
    elif kind == _ARRAY:
        item, count = _read(handle, "<I"), _read(handle, "<Q")
        if item in _SCALARS:
            handle.seek(struct.calcsize(_SCALARS[item]) * count, 1)
        else:
            for _ in range(count):
                _skip(handle, item)
    elif kind in _SCALARS:
        handle.seek(struct.calcsize(_SCALARS[kind]), 1)
    else:
        raise ValueError(f"unknown GGUF value type {kind}")


def gguf_scalars(path: Path) -> dict[str, Any]:
    """The scalar and string metadata of a GGUF file (arrays such as the vocabulary are skipped)."""
    out: dict[str, Any] = {}
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        _read(handle, "<I")  # version
        _read(handle, "<Q")  # tensor count
        for _ in range(_read(handle, "<Q")):
            key = _string(handle)
            kind = _read(handle, "<I")
            if kind == _STRING:
                out[key] = _string(handle)
            elif kind in _SCALARS:
                out[key] = _read(handle, _SCALARS[kind])
            else:
                _skip(handle, kind)
    return out


def gguf_context_length(path: Path) -> int | None:
    meta = gguf_scalars(path)
    value = meta.get(f"{meta.get('general.architecture', '')}.context_length")
    return int(value) if isinstance(value, int) and value > 0 else None


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

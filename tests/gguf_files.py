"""Writing and editing GGUF files for tests: small synthetic ones for the header reader, and copies of
the embedded model with a metadata value changed (another architecture, a chat template with tools, a
huge context length), so the engines meet real files with exactly one thing wrong or different."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

_FORMATS = {
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
}
STRING, ARRAY, UINT32, FLOAT32 = 8, 9, 4, 6


def _string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def encode_value(kind: int, value: Any) -> bytes:
    if kind == STRING:
        return _string(value)
    if kind == ARRAY:
        item, items = value
        body = b"".join(encode_value(item, v) for v in items)
        return struct.pack("<IQ", item, len(items)) + body
    return struct.pack(_FORMATS[kind], value)


def write_gguf(
    path: Path,
    metadata: list[tuple[str, int, Any]],
    tensors: list[tuple[str, list[int], int, int]] = (),  # type: ignore[assignment]
    *,
    data: bytes | None = None,
    alignment: int = 32,
) -> Path:
    """A GGUF v3 file: ``metadata`` as (key, type, value), ``tensors`` as (name, dims, ggml type,
    offset); ``data`` follows the aligned header (zeros enough for the tensors when not given)."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, kind, value in metadata:
        head += _string(key) + struct.pack("<I", kind) + encode_value(kind, value)
    for name, dims, kind, offset in tensors:
        head += _string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", kind, offset)
    head += b"\0" * (-len(head) % alignment)
    path.write_bytes(head + (data if data is not None else b"\0" * 4096))
    return path


class _Spans:
    """Where each metadata entry of a real GGUF file lies, to rewrite some and copy the rest."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.at = 0

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.blob, self.at)[0]
        self.at += struct.calcsize(fmt)
        return value

    def skip_string(self) -> bytes:
        length = self.take("<Q")
        text = self.blob[self.at : self.at + length]
        self.at += length
        return text

    def value(self, kind: int) -> Any:
        if kind == STRING:
            return self.skip_string()
        if kind == ARRAY:
            item, count = self.take("<I"), self.take("<Q")
            return item, [self.value(item) for _ in range(count)]
        return self.take(_FORMATS[kind])


def edit_gguf(source: Path, target: Path, changes: dict[str, Any]) -> Path:
    """A copy of ``source`` with the metadata values in ``changes`` replaced (same types; ``None``
    removes the key; a function gets the old value and returns the new one, an array as
    ``(item type, items)``). The tensor data is copied unchanged."""
    blob = source.read_bytes()
    spans = _Spans(blob)
    spans.at = 4
    version, tensor_count, kv_count = spans.take("<I"), spans.take("<Q"), spans.take("<Q")
    entries: list[bytes] = []
    alignment = 32
    for _ in range(kv_count):
        start = spans.at
        key = spans.skip_string().decode()
        kind = spans.take("<I")
        old = spans.value(kind)
        if key == "general.alignment":
            alignment = old
        change = changes.get(key, old)
        if key not in changes:
            entries.append(blob[start : spans.at])
        elif change is not None:
            new = change(old) if callable(change) else change
            entries.append(_string(key) + struct.pack("<I", kind) + encode_value(kind, new))
    infos_start = spans.at
    for _ in range(tensor_count):
        spans.skip_string()
        n_dims = spans.take("<I")
        spans.at += 8 * n_dims + 4 + 8
    infos = blob[infos_start : spans.at]
    data_start = spans.at + (-spans.at % alignment)
    head = b"GGUF" + struct.pack("<IQQ", version, tensor_count, len(entries)) + b"".join(entries) + infos
    head += b"\0" * (-len(head) % alignment)
    with target.open("wb") as out:
        out.write(head)
        out.write(blob[data_start:])
    return target

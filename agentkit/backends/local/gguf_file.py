"""Reading and checking a GGUF file's header before an engine is handed the file.

llama.cpp and transformers trust the files they load: a truncated download or a damaged header gets an
obscure message at best, and native code may abort the whole interpreter at worst. This reader walks
the header (metadata and tensor table) with every length checked against the bytes that are really
there, so its cost is linear in the header and a bad file gets a :class:`ConfigurationError` naming
the file and what is wrong with it. Arrays (the vocabulary) are skipped, not read. It also gives what
an engine needs to plan without loading: the architecture, the context length, and the size of a
KV cache. Nothing here imports an engine.
"""

from __future__ import annotations

import functools
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.errors import ConfigurationError

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
_U64 = struct.Struct("<Q")
_MAX_DIMS = 4
_DEFAULT_ALIGNMENT = 32

# ggml tensor types: (elements per block, bytes per block), from the GGUF format's type table. A type
# not listed (a newer quantization) is not size-checked here; llama.cpp checks it itself.
_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 40),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
}


class _FormatError(ValueError):
    """What is wrong with a file's structure (:func:`check_gguf` raises it as a ConfigurationError
    naming the file)."""


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """A checked GGUF header: its scalar and string metadata, and where the tensor data lies."""

    path: Path
    version: int
    metadata: dict[str, Any]
    """Scalar and string values; arrays (the vocabulary, merges) are not kept."""
    array_lengths: dict[str, int]
    """How many items each array holds (``tokenizer.ggml.tokens``: the vocabulary size)."""
    tensor_count: int
    data_offset: int
    data_bytes: int
    """Bytes the tensors need after ``data_offset`` (types this reader does not know count as 0)."""

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) and value else None

    def model_value(self, key: str) -> Any:
        """``{architecture}.{key}`` (``block_count``, ``context_length``, ...), or ``None``."""
        return self.metadata.get(f"{self.architecture}.{key}")

    @property
    def context_length(self) -> int | None:
        value = self.model_value("context_length")
        return int(value) if isinstance(value, int) and value > 0 else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value else None

    def kv_cache_bytes(self, n_ctx: int, bytes_per_value: int = 2) -> int | None:
        """Bytes of an f16 KV cache for ``n_ctx`` tokens (``None`` when the header lacks the sizes)."""
        layers = self.model_value("block_count")
        embedding = self.model_value("embedding_length")
        heads = self.model_value("attention.head_count")
        kv_heads = self.model_value("attention.head_count_kv")
        if not all(isinstance(v, int) and v > 0 for v in (layers, embedding, heads)):
            return None
        kv_heads = kv_heads if isinstance(kv_heads, int) and kv_heads > 0 else heads
        key_length = self.model_value("attention.key_length") or embedding // heads
        value_length = self.model_value("attention.value_length") or embedding // heads
        per_token = int(layers) * int(kv_heads) * (int(key_length) + int(value_length)) * bytes_per_value
        return n_ctx * per_token


class _Reader:
    """Reads little-endian values from a memory map, refusing any length that would run past the end
    of the file (no read is ever larger than what is there)."""

    def __init__(self, data: mmap.mmap | bytes) -> None:
        self.data = data
        self.size = len(data)
        self.at = 0

    @property
    def remaining(self) -> int:
        return self.size - self.at

    def read(self, fmt: str) -> Any:
        count = struct.calcsize(fmt)
        if count > self.remaining:
            raise _FormatError("the file ends inside its header (truncated)")
        value = struct.unpack_from(fmt, self.data, self.at)[0]
        self.at += count
        return value

    def string(self, what: str) -> str:
        length = self.read("<Q")
        if length > self.remaining:
            raise _FormatError(f"{what} claims {length} bytes, past the end of the file")
        text = bytes(self.data[self.at : self.at + length]).decode("utf-8", errors="replace")
        self.at += length
        return text

    def skip(self, count: int, what: str) -> None:
        if count > self.remaining:
            raise _FormatError(f"{what} claims {count} bytes, past the end of the file")
        self.at += count

    def skip_value(self, kind: int, key: str) -> int | None:
        """Skip a value; an array's length."""
        if kind == _STRING:
            self.skip(self.read("<Q"), f"the value of {key!r}")
        elif kind == _ARRAY:
            item, count = self.read("<I"), self.read("<Q")
            if item in _SCALARS:
                self.skip(struct.calcsize(_SCALARS[item]) * count, f"the array {key!r}")
            elif item == _STRING:
                if count * 8 > self.remaining:
                    raise _FormatError(f"the array {key!r} claims {count} strings, past the end of the file")
                data, at, size, length = self.data, self.at, self.size, _U64.unpack_from
                try:
                    for _ in range(count):  # the vocabulary: tens of thousands of strings, kept tight
                        at += 8 + length(data, at)[0]
                except struct.error:
                    raise _FormatError(f"a string in {key!r} runs past the end of the file") from None
                if at > size:
                    raise _FormatError(f"a string in {key!r} runs past the end of the file")
                self.at = at
            else:
                raise _FormatError(f"the array {key!r} has items of unknown type {item}")
            return int(count)
        elif kind in _SCALARS:
            self.skip(struct.calcsize(_SCALARS[kind]), f"the value of {key!r}")
        else:
            raise _FormatError(f"the value of {key!r} has unknown type {kind}")
        return None


def _tensor_bytes(kind: int, dims: list[int], name: str) -> int:
    elements = 1
    for dim in dims:
        elements *= dim
    if elements >= 1 << 60:
        raise _FormatError(f"tensor {name!r} claims {elements} elements")
    sizes = _TYPE_SIZES.get(kind)
    if sizes is None:
        return 0
    block, per_block = sizes
    if dims and dims[0] % block:
        raise _FormatError(f"tensor {name!r} has a row of {dims[0]} values, not whole blocks of {block}")
    return elements // block * per_block


def _check_token_ids(metadata: dict[str, Any], arrays: dict[str, int]) -> None:
    """Special token ids (bos, eos, padding, ...) must be tokens of the vocabulary: llama.cpp loads a
    file whose eos id is out of range, then aborts the process when the id is looked up."""
    vocabulary = arrays.get("tokenizer.ggml.tokens")
    if vocabulary is None:
        return
    for key, value in metadata.items():
        if not (key.startswith("tokenizer.ggml.") and key.endswith("_token_id") and isinstance(value, int)):
            continue
        if not -1 <= value < vocabulary and value != 0xFFFFFFFF:  # -1 / UINT32_MAX: "none"
            raise _FormatError(f"{key} is {value}, not a token of its {vocabulary}-token vocabulary")


@functools.lru_cache(maxsize=32)
def _read_cached(path: Path, size: int, mtime_ns: int) -> GGUFInfo:
    with path.open("rb") as handle:
        if size < 4 or handle.read(4) != b"GGUF":
            raise _FormatError("it is not a GGUF file (no GGUF magic number at its start)")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _parse(path, _Reader(data))


def _parse(path: Path, reader: _Reader) -> GGUFInfo:
    reader.at = 4
    version = reader.read("<I")
    if version not in (2, 3):
        raise _FormatError(f"GGUF version {version} is not supported (2 and 3 are)")
    tensor_count, kv_count = reader.read("<Q"), reader.read("<Q")
    if kv_count * 12 > reader.remaining or tensor_count * 24 > reader.remaining:
        raise _FormatError(
            f"its header claims {kv_count} metadata entries and {tensor_count} tensors, "
            "more than the file can hold (truncated or damaged)"
        )
    metadata: dict[str, Any] = {}
    arrays: dict[str, int] = {}
    for _ in range(kv_count):
        key = reader.string("a metadata key")
        kind = reader.read("<I")
        if kind == _STRING:
            metadata[key] = reader.string(f"the value of {key!r}")
        elif kind in _SCALARS:
            metadata[key] = reader.read(_SCALARS[kind])
        else:
            length = reader.skip_value(kind, key)
            if length is not None:
                arrays[key] = length
    _check_token_ids(metadata, arrays)
    tensors: list[tuple[str, int, int]] = []  # name, offset, bytes
    for _ in range(tensor_count):
        name = reader.string("a tensor name")
        n_dims = reader.read("<I")
        if n_dims > _MAX_DIMS:
            raise _FormatError(f"tensor {name!r} claims {n_dims} dimensions (at most {_MAX_DIMS})")
        dims = [reader.read("<Q") for _ in range(n_dims)]
        kind, offset = reader.read("<I"), reader.read("<Q")
        tensors.append((name, offset, _tensor_bytes(kind, dims, name)))
    alignment = metadata.get("general.alignment", _DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise _FormatError(f"general.alignment is {alignment!r}, not a power of two")
    data_offset = -(-reader.at // alignment) * alignment
    available = reader.size - data_offset
    for name, offset, _ in tensors:
        if offset % alignment:
            raise _FormatError(f"tensor {name!r} starts at {offset}, not aligned to {alignment} bytes")
    needed = max((offset + nbytes for _, offset, nbytes in tensors), default=0)
    if needed > available:
        raise _FormatError(
            f"the file is truncated: its tensors need {needed} bytes of data but only "
            f"{max(available, 0)} follow the header ({reader.size} bytes in all)"
        )
    return GGUFInfo(path, version, metadata, arrays, tensor_count, data_offset, needed)


def check_gguf(path: Path) -> GGUFInfo:
    """The checked header of ``path``, or a :class:`ConfigurationError` naming the file and what is
    wrong. Remembered by path, size and modification time (engines ask more than once per load)."""
    try:
        stat = path.stat()
        return _read_cached(path, stat.st_size, stat.st_mtime_ns)
    except _FormatError as exc:
        raise ConfigurationError(f"cannot use the GGUF file {path}: {exc}") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the GGUF file {path}: {exc.strerror or exc}") from None


def gguf_context_length(path: Path) -> int | None:
    """The context length the GGUF's metadata declares (``None`` for a file that does not say)."""
    return check_gguf(path).context_length

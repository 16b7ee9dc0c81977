"""Tool names: MCP allows names (dots, slashes, any Unicode, up to 128 characters) that OpenAI-compatible
servers reject, so every MCP tool gets a local name matching ``^[a-zA-Z0-9_-]{1,64}$``; calls map back
to the server's own name.

A name that is already valid is kept exactly (with ``prefix_`` when a prefix is given): a server's own
``weather_today`` must not become ``weather_today_2`` because another tool is called
``weather.today``. The others are transliterated to ASCII (NFKD: ``café`` becomes ``cafe``), with every
run of other characters turned into ``_``. Where that loses the name's identity (nothing readable is left,
the result is cut to 64 characters, or it clashes with another name) a short hash of the server's
name is appended. The mapping is a pure function of the set of names: the same tools get the same
local names in every run and process, whatever order the server lists them in.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

_VALID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_INVALID = re.compile(r"[^a-zA-Z0-9_-]+")
MAX_LENGTH = 64
_HASH_LENGTH = 8


def _joined(name: str, prefix: str | None) -> str:
    return f"{prefix}_{name}" if prefix else name


def _ascii(text: str) -> str:
    """``text`` transliterated to ASCII where Unicode knows how (accents dropped, ligatures split)."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return kept.encode("ascii", "ignore").decode()


def _digest(name: str, attempt: int) -> str:
    data = name.encode("utf-8", "surrogatepass") + (b"\x00%d" % attempt if attempt else b"")
    return hashlib.sha256(data).hexdigest()[:_HASH_LENGTH]


def _clean(text: str) -> str:
    """``text`` in ASCII with every run of invalid characters as ``_`` (possibly empty)."""
    return _INVALID.sub("_", _ascii(text)).strip("_")


def _with_hash(base: str, name: str, attempt: int) -> str:
    suffix = "_" + _digest(name, attempt)
    return base[: MAX_LENGTH - len(suffix)].rstrip("_") + suffix


def local_names(remote: Iterable[str], prefix: str | None = None) -> dict[str, str]:
    """Map each server tool name to a distinct valid local name (see the module docstring)."""
    names = list(dict.fromkeys(remote))
    mapping: dict[str, str] = {}
    for name in names:
        full = _joined(name, prefix)
        if _VALID.match(full):
            mapping[name] = full
    taken = set(mapping.values())
    for name in sorted(n for n in names if n not in mapping):
        # A name with no letter or digit left in ASCII (say, all CJK) is "tool" plus its hash.
        readable = any(ch.isalnum() for ch in _ascii(name))
        base = _clean(_joined(name if readable else "tool", prefix)) or "tool"
        candidate, attempt = base, 0
        if not readable or len(base) > MAX_LENGTH or base in taken:
            candidate = _with_hash(base, name, attempt)
        while candidate in taken:
            attempt += 1
            candidate = _with_hash(base, name, attempt)
        taken.add(candidate)
        mapping[name] = candidate
    return mapping

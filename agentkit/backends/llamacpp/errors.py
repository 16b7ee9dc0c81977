"""llama.cpp's refusals, turned into messages that name the file and what to do."""

from __future__ import annotations

import re
from pathlib import Path

_UNKNOWN_ARCHITECTURE = re.compile(r"unknown model architecture: '([^']*)'")


def llama_version() -> str:
    try:
        from importlib.metadata import version

        return f"llama-cpp-python {version('llama-cpp-python')}"
    except Exception:  # noqa: BLE001 - only a label
        return "the installed llama-cpp-python"


def llama_reason(log: str) -> str:
    """The lines of a llama.cpp log that say what went wrong (the last few lines if none does)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "failed" in line.lower()]
    picked = errors[-3:] if errors else lines[-3:]
    return "; ".join(picked)[-600:] or "no message"


def refusal_message(model: Path, log: str) -> str:
    """Why llama.cpp declined ``model``, from its log."""
    unknown = _UNKNOWN_ARCHITECTURE.search(log)
    if unknown:
        return (
            f"cannot run {model} on llama.cpp: its architecture {unknown.group(1)!r} is not supported "
            f"by {llama_version()}; upgrade llama-cpp-python, or run the file on transformers "
            f"('gguf:{model}@transformers')"
        )
    return f"llama.cpp cannot load {model}: {llama_reason(log)}"

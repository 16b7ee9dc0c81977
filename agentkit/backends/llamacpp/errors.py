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


def refusal_message(model: Path, log: str) -> str:
    """Why llama.cpp declined ``model``, from its log."""
    from agentkit.backends.llamacpp.probe import llama_reason

    unknown = _UNKNOWN_ARCHITECTURE.search(log)
    if unknown:
        return (
            f"cannot run {model} on llama.cpp: its architecture {unknown.group(1)!r} is not supported "
            f"by {llama_version()}; upgrade llama-cpp-python, or run the file on transformers "
            f"('gguf:{model}@transformers')"
        )
    return f"llama.cpp cannot load {model}: {llama_reason(log)}"

"""Small helpers shared by the built-in tools: output truncation and optional imports."""

from __future__ import annotations

import importlib
from types import ModuleType

from agentkit.errors import ConfigurationError


def truncate(text: str, limit: int, *, what: str = "output") -> str:
    """``text`` cut to ``limit`` characters, with a note saying how much was left out.

    Models cannot see that text was cut unless told; the note keeps them from drawing conclusions
    from a partial result.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[{what} truncated: showing the first {limit} of {len(text)} characters]"


def optional_import(module: str, *, extra: str = "tools") -> ModuleType:
    """Import an optional dependency, or raise :class:`ConfigurationError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            f"this tool needs the '{module}' package: pip install 'agentkit[{extra}]'"
        ) from exc

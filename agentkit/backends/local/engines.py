"""Which engine serves a ``gguf:`` or ``local`` model string, and whether it is installed (see
:mod:`agentkit.backends.local` for the rules). Imports no engine."""

from __future__ import annotations

import importlib.util
import os

from agentkit.errors import ConfigurationError

ENGINES = ("transformers", "llama")
ENGINE_VARIABLE = "AGENTKIT_LOCAL_ENGINE"
_NEEDS = {"transformers": ("torch", "transformers", "llguidance"), "llama": ("llama_cpp", "llguidance")}
_EXTRA = {"transformers": "local", "llama": "llama"}


def split_engine(rest: str) -> tuple[str, str | None]:
    """``'PATH@llama'`` -> ``('PATH', 'llama')``. A trailing ``@WORD`` counts only when WORD is an
    engine, so a path with an ``@`` in it stays whole."""
    head, at, tail = rest.rpartition("@")
    if at and tail in ENGINES:
        return head, tail
    return rest, None


def missing_modules(engine: str) -> list[str]:
    """The modules ``engine`` needs that are not installed."""
    return [name for name in _NEEDS[engine] if importlib.util.find_spec(name) is None]


def require_engine(engine: str, model: str) -> None:
    """Raise :class:`ConfigurationError` naming the extra to install when ``engine`` cannot run."""
    missing = missing_modules(engine)
    if missing:
        raise ConfigurationError(
            f"model {model!r} runs on the {engine} engine, which needs {', '.join(missing)}: "
            f"pip install 'agentkit[{_EXTRA[engine]}]'"
        )


def choose_engine(kind: str, requested: str | None, model: str) -> str:
    """The engine for a ``gguf`` or ``local`` model string (see the module docstring)."""
    if requested is None:
        requested = os.environ.get(ENGINE_VARIABLE) or None
        if requested is not None and requested not in ENGINES:
            raise ConfigurationError(
                f"${ENGINE_VARIABLE} is {requested!r}; expected one of {', '.join(ENGINES)}"
            )
    if requested is not None:
        if requested not in ENGINES:
            raise ConfigurationError(f"unknown engine {requested!r}; expected one of {', '.join(ENGINES)}")
        require_engine(requested, model)
        return requested
    preferred = ("llama", "transformers") if kind == "gguf" else ("transformers", "llama")
    for engine in preferred:
        if not missing_modules(engine):
            return engine
    return "transformers"  # its factory names the extras to install

"""Local models in this process, on either engine, and which engine serves a model string.

Two engines run a model here: transformers (``agentkit.backends.transformers``: any Hugging Face
model; a GGUF is dequantized once to full precision) and llama.cpp (``agentkit.backends.llamacpp``:
GGUF files, quantized weights, loads in a fraction of a second). What they share lives in this
package, so a change to prompting or to the grammar applies to both: ``prompting`` (chat template,
tool instructions), ``constraints`` (llguidance grammars), ``engine`` (the request logic), ``stats``
(prefill/reuse counters), ``feedback`` (load messages and progress bar), ``gguf_file`` (header checks).

Which engine (documented in docs/local-models.md):

- ``gguf:PATH`` runs on llama.cpp when llama-cpp-python is installed, else on transformers;
- ``local`` (the embedded SmolLM2) runs on transformers, unless asked otherwise;
- a suffix chooses: ``local@llama``, ``local@transformers``, ``gguf:PATH@llama``,
  ``gguf:PATH@transformers``; so do ``engine=`` on the factories below and, for strings without a
  suffix, ``$AGENTKIT_LOCAL_ENGINE``. An engine that is not installed is an error naming its extra.

Importing this package imports neither engine.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from agentkit.backends.local.engine import InProcessBackend
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


def gguf_backend(rest: str, *, engine: str | None = None, **options: Any) -> InProcessBackend:
    """``gguf:PATH[@ENGINE]``: a GGUF file on llama.cpp (when installed) or transformers."""
    path, suffix = split_engine(rest)
    chosen = choose_engine("gguf", engine or suffix, f"gguf:{rest}")
    if chosen == "llama":
        from agentkit.backends.llamacpp import gguf_backend as llama_gguf

        return llama_gguf(path, **options)
    from agentkit.backends.transformers import gguf_backend as transformers_gguf

    return transformers_gguf(path, **options)


def local_backend(rest: str = "", *, engine: str | None = None, **options: Any) -> InProcessBackend:
    """``local[@ENGINE]``: the embedded SmolLM2-135M-Instruct, on transformers unless asked."""
    suffix: str | None = None
    if rest:
        if not rest.startswith("@") or rest[1:] not in ENGINES:
            raise ConfigurationError(
                f"model 'local' takes no argument but an engine ('local@llama', 'local@transformers'), "
                f"got 'local{rest if rest.startswith('@') else ':' + rest}'"
            )
        suffix = rest[1:]
    chosen = choose_engine("local", engine or suffix, f"local{rest}")
    if chosen == "llama":
        from agentkit.backends.llamacpp import local_backend as llama_local

        return llama_local(**options)
    from agentkit.backends.transformers import local_backend as transformers_local

    return transformers_local(**options)


__all__ = [
    "ENGINES",
    "ENGINE_VARIABLE",
    "InProcessBackend",
    "choose_engine",
    "gguf_backend",
    "local_backend",
    "split_engine",
]

"""GGUF models in-process on llama.cpp (llama-cpp-python, the ``llama`` extra).

``gguf:PATH`` resolves here when llama-cpp-python is installed, ``local@llama`` runs the embedded
SmolLM2 here (see :mod:`agentkit.backends.local` for the choice of engine). Modules: ``machine``
(threads, free memory), ``probe`` (a first load in a child process, so that a crash cannot take this
interpreter down), ``errors`` (llama.cpp's refusals as messages), ``loading`` (checks, then
``llama_cpp.Llama``), ``chat_template`` (the GGUF's template, rendered as transformers would),
``decoding`` (the decode loop), ``backend``.

The factories are cheap: they check the extra and the path; the model loads on first use. Importing
this package does not import llama_cpp.
"""

from __future__ import annotations

from typing import Any

from agentkit.backends.llamacpp.backend import LlamaCppBackend
from agentkit.backends.local.engine import EMBEDDED_MODEL_OPTIONS
from agentkit.backends.local.engines import require_engine
from agentkit.backends.local.files import check_gguf_file, embedded_gguf
from agentkit.errors import ConfigurationError


def gguf_backend(path: str, **options: Any) -> LlamaCppBackend:
    """``gguf:PATH`` on llama.cpp."""
    if not path:
        raise ConfigurationError("model 'gguf:' needs a file path, e.g. 'gguf:/models/model.Q4_K_M.gguf'")
    require_engine("llama", f"gguf:{path}@llama")
    return LlamaCppBackend(check_gguf_file(path).resolve(), **options)


def local_backend(**options: Any) -> LlamaCppBackend:
    """``local@llama``: the embedded SmolLM2-135M-Instruct on llama.cpp, with the same defaults as on
    transformers (:data:`~agentkit.backends.local.engine.EMBEDDED_MODEL_OPTIONS`)."""
    require_engine("llama", "local@llama")
    options = {"name": "local@llama", **EMBEDDED_MODEL_OPTIONS, **options}
    return LlamaCppBackend(embedded_gguf(), **options)


__all__ = ["LlamaCppBackend", "gguf_backend", "local_backend"]

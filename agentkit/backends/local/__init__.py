"""Local models in this process, on either engine, and which engine serves a model string.

Two engines run a model here: transformers (``agentkit.backends.transformers``: any Hugging Face
model; a GGUF is dequantized once to full precision) and llama.cpp (``agentkit.backends.llamacpp``:
GGUF files, quantized weights, loads in a fraction of a second). What they share lives in this
package, so a change to prompting, to the grammar or to how the model decides applies to both:
``prompting`` (chat template, tool instructions), ``constraints`` (llguidance grammars), ``engine``
(the request logic), ``jobs`` (decode job and result), ``deciding`` (the tool-choice policy and the
decision path: ``decision``, ``call_loop``, ``several``, ``request_values``), ``stats`` (prefill/reuse
counters), ``feedback`` (load messages and progress bar), ``gguf_file`` (header checks).

Which engine (documented in docs/local-models.md):

- ``gguf:PATH`` runs on llama.cpp when llama-cpp-python is installed, else on transformers;
- ``local`` (the embedded SmolLM2) runs on transformers, unless asked otherwise;
- a suffix chooses: ``local@llama``, ``local@transformers``, ``gguf:PATH@llama``,
  ``gguf:PATH@transformers``; so do ``engine=`` on the factories below and, for strings without a
  suffix, ``$AGENTKIT_LOCAL_ENGINE``. An engine that is not installed is an error naming its extra.

Importing this package imports neither engine.
"""

from __future__ import annotations

from typing import Any

from agentkit.backends.local.engine import InProcessBackend
from agentkit.backends.local.engines import ENGINE_VARIABLE, ENGINES, choose_engine, split_engine
from agentkit.errors import ConfigurationError


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

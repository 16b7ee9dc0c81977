"""The in-process engines a local-model integration test runs on, and ``local`` built on one of them
(the ``engine`` and ``local`` fixtures of tests/integration/conftest.py use these), and the tool the
model tests ask it to call."""

from __future__ import annotations

from typing import Any

from agentkit import tool
from agentkit.backends.local import InProcessBackend, local_backend

ENGINES = ["transformers", "llama"]


def make_local(engine: str, **options: Any) -> InProcessBackend:
    """``local`` on ``engine`` (a fresh backend: its own KV cache; transformers shares the weights)."""
    return local_backend(engine=engine, **options)


@tool
def multiply(a: float, b: float) -> float:
    """Multiply two numbers exactly.

    Args:
        a: The first factor.
        b: The second factor.
    """
    return a * b

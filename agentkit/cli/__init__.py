"""The ``agentkit`` command line (``python -m agentkit`` or the ``agentkit`` console script)."""

from agentkit.cli.main import main

__all__ = ["main"]

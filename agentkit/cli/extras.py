"""The CLI's optional parts (MCP, PostgreSQL sessions, OpenTelemetry, rich): imported where they are
used, and a missing one reported in one line that names the extra to install."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from agentkit.errors import ConfigurationError


@contextmanager
def extra(name: str, feature: str) -> Iterator[None]:
    """Around the lazy import of an optional part: an ImportError becomes a ConfigurationError that
    says which extra ``feature`` needs (exit code 3)."""
    try:
        yield
    except ImportError as exc:
        missing = exc.name or str(exc)
        raise ConfigurationError(
            f"{feature} needs the '{name}' extra ({missing} is not installed): pip install 'agentkit[{name}]'"
        ) from None

"""Integration-test setup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _forget_what_servers_lacked() -> Iterator[None]:
    """The OpenAI backend remembers per base URL what a server lacks; test servers get ports the OS
    hands out again, so what one test's server taught must not reach the next one on the same port."""
    yield
    try:
        from agentkit.backends.openai.features import forget_server_features
    except ImportError:  # the openai extra is not installed
        return
    forget_server_features()

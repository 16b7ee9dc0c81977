"""Integration-test setup, and the fixtures that run a local-model test on both in-process engines
(``engine``, ``local``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentkit.backends.local import InProcessBackend
from tests.local_engines import ENGINES, make_local


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def local(engine: str) -> InProcessBackend:
    """``local`` on each engine, loaded once per session (the tests share its KV cache)."""
    backend = make_local(engine)
    backend.ensure_loaded()  # load once, here, not inside the first test's timing
    return backend


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

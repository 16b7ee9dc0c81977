"""Shared test setup.

Network: pytest-socket (configured in pyproject's addopts) allows connections to loopback only, so no
test can reach the internet by accident; servers the tests start listen on 127.0.0.1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

# Never let transformers / huggingface_hub try the network from a test.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
from hypothesis import HealthCheck, settings

from tests.pg_server import PostgresServer
from tests.session_stores import Store

# The machine is small and shared: no per-example deadline, a moderate number of examples.
settings.register_profile(
    "agentkit", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "agentkit"))


# A real PostgreSQL server for the whole test session (tests/pg_server.py), started on first use.
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A URL to a fresh, empty database on the session's server (dropped after the test)."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if postgres_server.running:
            with psycopg.connect(postgres_server.url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each session store in turn (tests/session_stores.py): the shared behavioural suite's subject."""
    if request.param == "sqlite":
        url = str(tmp_path / "sessions.db")
    else:
        url = request.getfixturevalue("postgres_url")
    subject = Store(request.param, url)
    try:
        yield subject
    finally:
        subject.close()

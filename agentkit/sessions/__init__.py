"""Durable sessions: conversations journaled as they happen, continued and resumed across processes.

``SQLiteSession`` (a file; the default) and ``PostgresSession`` (a server shared by many machines;
``pip install 'agentkit[postgres]'``, imported only when used) implement one :class:`Session` protocol.
See docs/sessions.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.sessions.base import Continuation, Session, continuation
from agentkit.sessions.journal import SessionInfo
from agentkit.sessions.lease import Lease
from agentkit.sessions.sqlite import SCHEMA_VERSION, SQLiteSession
from agentkit.sessions.url import list_sessions, session_from_url

if TYPE_CHECKING:
    from agentkit.sessions.postgres import PostgresSession

__all__ = [
    "SCHEMA_VERSION",
    "Continuation",
    "Lease",
    "PostgresSession",
    "SQLiteSession",
    "Session",
    "SessionInfo",
    "continuation",
    "list_sessions",
    "session_from_url",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresSession":  # psycopg is imported only by those who use it
        from agentkit.sessions.postgres import PostgresSession

        return PostgresSession
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

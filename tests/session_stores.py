"""The session stores the shared behavioural suite runs against, behind one small interface.

The ``store`` fixture (tests/conftest.py) yields a :class:`Store` for SQLite (a file in the test's temp
folder) and for PostgreSQL (a fresh database on the test session's own server), so one test body covers
both. ``store.url`` is what ``session_from_url``, the CLI's ``--session`` and a batch's ``--journal`` take.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from agentkit.sessions import SessionInfo, list_sessions, session_from_url


@dataclass
class Store:
    kind: str  # "sqlite" or "postgres"
    url: str
    _opened: list[Any] = field(default_factory=list)

    def open(self, session_id: str | None = None, **options: Any) -> Any:
        """A session object of this store (closed at the end of the test)."""
        session = session_from_url(self.url, session_id, **options)
        self._opened.append(session)
        return session

    def list(self) -> list[SessionInfo]:
        return list_sessions(self.url)

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        """Run ``statement`` on the store's tables behind agentkit's back (to damage them)."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.url, isolation_level=None)
            try:
                conn.execute(statement.replace("%s", "?"), params)
            finally:
                conn.close()
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET search_path TO agentkit")
            conn.execute(statement.encode(), params)

    def close(self) -> None:
        for session in self._opened:
            session.close()
        self._opened.clear()

"""The batch journal in PostgreSQL: what every worker of a cluster can reach.

Conversations are :class:`~agentkit.sessions.postgres.PostgresSession` s (one shared connection per
process); the task table (``batch_tasks`` in the same schema) is written through a connection of its
own. Opening the journal connects at once, so an unreachable server stops the batch before anything
is written. When the server goes away mid-batch (a restart, a failover), every operation waits and
reconnects for up to ``reconnect_timeout`` seconds; past that the task stops with a resumable error
(it is not written to the results, and a rerun resumes it).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Container, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from agentkit.batch.journal import decide_resume, session_id_for
from agentkit.batch.runner import JournalUnavailable
from agentkit.batch.task import BatchResult, Task
from agentkit.errors import ConfigurationError, SessionError

try:
    import psycopg
    from psycopg import sql
except ImportError as exc:  # pragma: no cover - the postgres extra is part of the test install
    raise ConfigurationError(
        "a PostgreSQL journal needs psycopg 3: pip install 'agentkit[postgres]'"
    ) from exc

if TYPE_CHECKING:
    from agentkit.sessions.base import Session

T = TypeVar("T")


class PostgresJournal:
    """The batch journal in a PostgreSQL database (tables created on first use)."""

    def __init__(
        self,
        url: str,
        batch_id: str,
        *,
        schema: str = "agentkit",
        connect_timeout: float = 10.0,
        reconnect_timeout: float = 30.0,
    ) -> None:
        from agentkit.sessions.postgres import PostgresSession, describe_url

        self.location = url
        self.batch_id = batch_id
        self.durable = True
        self.where = describe_url(url)
        self._schema = schema
        self._session_class = PostgresSession
        self._connect_timeout = connect_timeout
        self._reconnect_timeout = reconnect_timeout
        self._conn: psycopg.Connection[Any] | None = None
        table = sql.Identifier(schema, "batch_tasks")
        self._q = {
            name: sql.SQL(text).format(t=table, s=sql.Identifier(schema))
            for name, text in {
                "create_schema": "CREATE SCHEMA IF NOT EXISTS {s}",
                "create": "CREATE TABLE IF NOT EXISTS {t} (batch_id TEXT NOT NULL, task_id TEXT NOT NULL, "
                "session_start INTEGER, result TEXT, PRIMARY KEY (batch_id, task_id))",
                "start": "SELECT session_start FROM {t} WHERE batch_id = %s AND task_id = %s",
                "set_start": "INSERT INTO {t} (batch_id, task_id, session_start) VALUES (%s, %s, %s) "
                "ON CONFLICT (batch_id, task_id) DO UPDATE SET session_start = excluded.session_start",
                "record": "INSERT INTO {t} (batch_id, task_id, result) VALUES (%s, %s, %s) "
                "ON CONFLICT (batch_id, task_id) DO UPDATE SET result = excluded.result",
                "finished": "SELECT task_id FROM {t} WHERE batch_id = %s AND result IS NOT NULL",
                "result": "SELECT result FROM {t} WHERE batch_id = %s AND task_id = %s",
            }.items()
        }
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(connect_timeout)))
            self._conn.execute(self._q["create_schema"])
            self._conn.execute(self._q["create"])
        except psycopg.Error as exc:
            self.close()
            detail = " ".join(str(exc).split())
            raise ConfigurationError(f"cannot open the journal in {self.where}: {detail}") from exc
        try:  # creates (or checks) the session tables now: a bad database fails the batch, not each task
            PostgresSession(url, f"batch:{batch_id}:", create=False, schema=schema).close()
        except SessionError as exc:
            if not str(exc).startswith("no session"):
                self.close()
                raise ConfigurationError(f"cannot open the journal in {self.where}: {exc}") from exc

    def _run(self, work: Callable[[psycopg.Connection[Any]], T], action: str) -> T:
        """``work`` on the connection; after a lost connection, reconnect and retry (it must be
        idempotent) for up to ``reconnect_timeout`` seconds, then :class:`JournalUnavailable`."""
        deadline = time.monotonic() + self._reconnect_timeout
        delay = 0.05
        while True:
            try:
                if self._conn is None or self._conn.closed:
                    timeout = max(1, round(self._connect_timeout))
                    self._conn = psycopg.connect(self.location, autocommit=True, connect_timeout=timeout)
                return work(self._conn)
            except psycopg.OperationalError as exc:
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                if time.monotonic() + delay > deadline:
                    raise JournalUnavailable(
                        f"{action} in {self.where} failed: the server did not come back within "
                        f"{self._reconnect_timeout:g} s ({' '.join(str(exc).split())}); rerun the batch "
                        "once it is back: it resumes"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def session_id(self, task: Task) -> str:
        return session_id_for(self.batch_id, task)

    def _start_of(self, task: Task, length: int) -> int:
        def work(conn: psycopg.Connection[Any]) -> int:
            row = conn.execute(self._q["start"], (self.batch_id, task.id)).fetchone()
            if row is not None and row[0] is not None:
                return int(row[0])
            conn.execute(self._q["set_start"], (self.batch_id, task.id, length))
            return length

        return self._run(work, f"starting task {task.id!r}")

    async def open(self, task: Task) -> tuple[Session, bool]:
        # A handful of round trips (and, while the server restarts, the wait for it): off the event
        # loop, so the other tasks go on meanwhile.
        return await asyncio.to_thread(self._open_now, task)

    def _open_now(self, task: Task) -> tuple[Session, bool]:
        session = self._session_class(
            self.location,
            self.session_id(task),
            schema=self._schema,
            reconnect_timeout=self._reconnect_timeout,
        )
        try:
            length = len(session)
            start = self._start_of(task, length) if task.session is not None else None
        except BaseException:
            session.close()
            raise
        return session, decide_resume(session, length, task, start)

    async def release(self, task: Task, session: Session) -> None:
        close = getattr(session, "close", None)
        if close is not None:
            close()

    def record(self, result: BatchResult) -> None:
        body = json.dumps(result.to_json(), ensure_ascii=False, separators=(",", ":"))
        self._run(
            lambda conn: conn.execute(self._q["record"], (self.batch_id, result.task_id, body)),
            f"recording the result of task {result.task_id!r}",
        )

    def finished(self, skip: Container[str] = ()) -> Iterator[BatchResult]:
        ids = self._run(
            lambda conn: [row[0] for row in conn.execute(self._q["finished"], (self.batch_id,))],
            "listing finished tasks",
        )
        for task_id in ids:
            if task_id in skip:
                continue
            row = self._run(
                lambda conn, task_id=task_id: conn.execute(
                    self._q["result"], (self.batch_id, task_id)
                ).fetchone(),  # type: ignore[misc]
                "reading a result",
            )
            if row is not None:
                yield BatchResult.from_json(json.loads(row[0]))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

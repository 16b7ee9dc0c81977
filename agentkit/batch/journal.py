"""The batch journal: every task's conversation, plus the state of each task, in one store.

A batch journal keeps, per batch id:

- each task's conversation, in a session of the store (``SQLiteSession``, or ``PostgresSession`` for
  workers on many machines): the run loop appends every message and tool result as it happens, so a
  killed batch resumes each task where it stopped without re-running finished tool calls;
- a row per task in ``agentkit_batch_tasks``: for a task that continues a conversation of its own
  (``"session"`` in the task), where that conversation stood when the task started (so a resume knows
  whether the task's prompt is already in it), and the task's final result once it has one.

The order "journal, then output" makes a kill at any moment harmless: a result is recorded here before
its line is written to the results file, so a result whose line was lost (or cut) is recovered from
here by the rerun instead of being run again, and a task whose result was never recorded resumes from
its conversation.

Journals are opened from a location string: a file path for SQLite, ``postgresql://...`` for
PostgreSQL (:func:`open_journal`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Container, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from agentkit.batch.runner import JournalUnavailable
from agentkit.batch.task import BatchResult, Task
from agentkit.errors import ConfigurationError, SessionError
from agentkit.messages import UserMessage

if TYPE_CHECKING:
    from agentkit.sessions.base import Session

TASKS_TABLE = "agentkit_batch_tasks"


def session_id_for(batch_id: str, task: Task) -> str:
    """A task's own conversation id, or one the batch makes up (unique per batch and task)."""
    return task.session if task.session is not None else f"batch:{batch_id}:{task.id}"


def is_postgres(location: str) -> bool:
    from agentkit.sessions.url import store_kind

    return store_kind(location)[0] == "postgresql"


class BatchJournal(Protocol):
    """A journal as the driver and the local engine see it (a ``TaskJournal`` that also keeps results)."""

    batch_id: str
    location: str

    def session_id(self, task: Task) -> str: ...

    async def open(self, task: Task) -> tuple[Session, bool]: ...

    async def release(self, task: Task, session: Session) -> None: ...

    def record(self, result: BatchResult) -> None:
        """Keep a final result (before its line goes to the results file)."""
        ...

    def finished(self, skip: Container[str] = ()) -> Iterator[BatchResult]:
        """The final results recorded for this batch, except those of the tasks in ``skip`` (read one
        by one: a million results never load at once)."""
        ...

    def close(self) -> None: ...


def decide_resume(session: Session, length: int, task: Task, start: int | None) -> bool:
    """Whether a task's conversation already holds its run: the task's prompt is in it (in a
    conversation the batch made up: anywhere; in the task's own: beyond where it stood when the task
    started). A run killed between journaling the system prompt and the prompt starts over."""
    begin = 0 if task.session is None else start
    if begin is None or length <= begin:
        return False  # the common case, a fresh task: nothing is loaded
    return any(isinstance(message, UserMessage) for message in session.load()[begin:])


class SQLiteJournal:
    """The batch journal in one SQLite file (the default: ``RESULTS.journal`` beside the results)."""

    def __init__(self, path: str | os.PathLike[str], batch_id: str, *, durable: bool = False) -> None:
        from agentkit.sessions import SQLiteSession

        self.location = os.fspath(path)
        self.batch_id = batch_id
        self.durable = durable
        self._session_class = SQLiteSession
        try:  # sets up (or checks) the session tables now, so a bad file fails the batch, not each task
            SQLiteSession(self.location, f"batch:{batch_id}:", create=False).close()
        except SessionError as exc:
            if not str(exc).startswith("no session"):  # the probe id never exists: that is expected
                raise ConfigurationError(f"cannot open journal {self.location}: {exc}") from exc
        try:
            self._conn = sqlite3.connect(self.location, timeout=30.0, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 30000")
            self._conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TASKS_TABLE} (batch_id TEXT NOT NULL, task_id TEXT NOT NULL, "
                "session_start INTEGER, result TEXT, PRIMARY KEY (batch_id, task_id))"
            )
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open journal {self.location}: {exc}") from exc

    def session_id(self, task: Task) -> str:
        return session_id_for(self.batch_id, task)

    def _start_of(self, task: Task, history_length: int) -> int:
        row = self._conn.execute(
            f"SELECT session_start FROM {TASKS_TABLE} WHERE batch_id = ? AND task_id = ?",
            (self.batch_id, task.id),
        ).fetchone()
        if row is not None and row[0] is not None:
            return int(row[0])
        self._conn.execute(
            f"INSERT INTO {TASKS_TABLE} (batch_id, task_id, session_start) VALUES (?, ?, ?) "
            "ON CONFLICT (batch_id, task_id) DO UPDATE SET session_start = excluded.session_start",
            (self.batch_id, task.id, history_length),
        )
        return history_length

    async def open(self, task: Task) -> tuple[Session, bool]:
        return self.open_now(task)

    def open_now(self, task: Task) -> tuple[Session, bool]:
        """:meth:`open` for synchronous callers (the Ray journal actor)."""
        try:
            session = self._session_class(self.location, self.session_id(task), durable=self.durable)
            length = len(session)
            start = self._start_of(task, length) if task.session is not None else None
        except sqlite3.OperationalError as exc:
            raise JournalUnavailable(f"journal {self.location}: {exc}") from exc
        return session, decide_resume(session, length, task, start)

    async def release(self, task: Task, session: Session) -> None:
        close = getattr(session, "close", None)
        if close is not None:
            close()

    def record(self, result: BatchResult) -> None:
        body = json.dumps(result.to_json(), ensure_ascii=False, separators=(",", ":"))
        try:
            self._conn.execute(
                f"INSERT INTO {TASKS_TABLE} (batch_id, task_id, result) VALUES (?, ?, ?) "
                "ON CONFLICT (batch_id, task_id) DO UPDATE SET result = excluded.result",
                (self.batch_id, result.task_id, body),
            )
        except sqlite3.OperationalError as exc:
            raise JournalUnavailable(f"journal {self.location}: {exc}") from exc

    def finished(self, skip: Container[str] = ()) -> Iterator[BatchResult]:
        ids = self._conn.execute(
            f"SELECT task_id FROM {TASKS_TABLE} WHERE batch_id = ? AND result IS NOT NULL", (self.batch_id,)
        ).fetchall()
        for (task_id,) in ids:
            if task_id in skip:
                continue
            row = self._conn.execute(
                f"SELECT result FROM {TASKS_TABLE} WHERE batch_id = ? AND task_id = ?",
                (self.batch_id, task_id),
            ).fetchone()
            yield BatchResult.from_json(json.loads(row[0]))

    def close(self) -> None:
        self._conn.close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("an SQLiteJournal cannot travel to another process; send its location instead")

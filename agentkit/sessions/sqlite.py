"""SQLite sessions: a durable journal of every message and tool result, one row each.

Stdlib ``sqlite3`` in WAL mode: writers never block readers, each append is one small transaction
(a process killed at any point loses at most the row it was writing), and several processes may write
different sessions of one file at once (a busy timeout queues their commits). The file carries a
schema version so a later agentkit can migrate it and an older one refuses it clearly.

    session = SQLiteSession("chats.db", "user-42")
    agent.run("Plan my trip", session=session)
    agent.run("Make it cheaper", session=session)   # continues the conversation
    agent.run(None, session=session)                # resumes a run that was killed
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
import uuid
from typing import Any

from pydantic import TypeAdapter, ValidationError

from agentkit.errors import SessionError
from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.sessions.journal import SessionInfo

SCHEMA_VERSION = 1


@functools.cache
def _message_adapter() -> TypeAdapter[Message]:
    """Built on first use: a TypeAdapter costs ~10 ms to create, too much for `import agentkit`."""
    return TypeAdapter(Message)


_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE IF NOT EXISTS entries (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL,
        call_id TEXT,
        body TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (session_id, seq)
    )""",
    # At most one result per call: a result journaled twice (a retried write) is ignored.
    "CREATE UNIQUE INDEX IF NOT EXISTS entries_one_result ON entries(session_id, call_id) "
    "WHERE role = 'tool'",
)



def _connect(path: str, timeout: float, durable: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:  # switching to WAL needs a moment alone with the file
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    if str(mode).lower() != "wal":
        raise SessionError(f"{path}: SQLite refused WAL mode (got {mode!r}); is the file on a network disk?")
    # NORMAL survives a killed process (the WAL is in the OS already); FULL also survives a power cut.
    conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif row[0] > SCHEMA_VERSION:
            raise SessionError(
                f"{path} has session schema version {row[0]}, newer than this agentkit understands "
                f"({SCHEMA_VERSION}); upgrade agentkit"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _in_call_order(messages: list[Message]) -> list[Message]:
    """Put each step's tool results (journaled as they finished) back in the order of its calls."""
    out: list[Message] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        out.append(message)
        i += 1
        if isinstance(message, AssistantMessage) and message.tool_calls:
            j = i
            while j < len(messages) and isinstance(messages[j], ToolMessage):
                j += 1
            order = {call.id: n for n, call in enumerate(message.tool_calls)}
            results = messages[i:j]
            results.sort(
                key=lambda m: order.get(m.tool_call_id, len(order)) if isinstance(m, ToolMessage) else 0
            )
            out.extend(results)
            i = j
    return out


class SQLiteSession:
    """One conversation in an SQLite file (created with its tables if missing).

    Args:
        path: the database file.
        session_id: the conversation's id; a new random one when omitted.
        create: ``False`` raises :class:`SessionError` if the session does not exist yet.
        timeout: seconds to wait for another process's write before failing.
        durable: fsync every append (survives power loss, not just a killed process; slower).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        session_id: str | None = None,
        *,
        create: bool = True,
        timeout: float = 30.0,
        durable: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self._id = session_id or uuid.uuid4().hex
        self._lock = threading.Lock()
        try:
            self._conn = _connect(self.path, timeout, durable)
            _migrate(self._conn, self.path)
        except sqlite3.Error as exc:
            raise SessionError(f"cannot open session store {self.path}: {exc}") from exc
        if create:
            self._conn.execute(
                "INSERT OR IGNORE INTO sessions (id, created_at, metadata) VALUES (?, ?, ?)",
                (self._id, time.time(), json.dumps(metadata or {})),
            )
        elif not self.exists():
            self._conn.close()
            raise SessionError(f"no session {self._id!r} in {self.path}")

    @property
    def session_id(self) -> str:
        return self._id

    def exists(self) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (self._id,)).fetchone()
        return row is not None

    def append(self, message: Message) -> None:
        """Journal ``message`` as the session's next entry (one transaction, O(log n))."""
        body = message.model_dump_json()
        call_id = message.tool_call_id if isinstance(message, ToolMessage) else None
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO entries (session_id, seq, role, call_id, body, created_at) "
                "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM entries WHERE session_id = ?",
                (self._id, message.role, call_id, body, time.time(), self._id),
            )

    def load(self) -> list[Message]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, body FROM entries WHERE session_id = ? ORDER BY seq", (self._id,)
            ).fetchall()
        messages: list[Message] = []
        adapter = _message_adapter()
        for seq, body in rows:
            try:
                messages.append(adapter.validate_json(body))
            except ValidationError as exc:
                raise SessionError(
                    f"session {self._id!r} in {self.path}: entry {seq} is not a valid message: {exc}"
                ) from exc
        return _in_call_order(messages)

    def __len__(self) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM entries WHERE session_id = ?", (self._id,)
            ).fetchone()
        return int(row[0])

    def fork(self, new_id: str | None = None) -> SQLiteSession:
        """A copy of this conversation under a new id (in the same file), to branch from."""
        target = new_id or uuid.uuid4().hex
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (target,)).fetchone():
                    raise SessionError(f"session {target!r} already exists in {self.path}")
                self._conn.execute(
                    "INSERT INTO sessions (id, created_at, metadata) "
                    "SELECT ?, ?, metadata FROM sessions WHERE id = ?",
                    (target, time.time(), self._id),
                )
                self._conn.execute(
                    "INSERT INTO entries (session_id, seq, role, call_id, body, created_at) "
                    "SELECT ?, seq, role, call_id, body, created_at FROM entries WHERE session_id = ?",
                    (target, self._id),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return SQLiteSession(self.path, target, create=False)

    def delete(self) -> None:
        """Remove this session and all of its entries."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM entries WHERE session_id = ?", (self._id,))
            self._conn.execute("DELETE FROM sessions WHERE id = ?", (self._id,))
            self._conn.execute("COMMIT")

    @staticmethod
    def list_sessions(path: str | os.PathLike[str]) -> list[SessionInfo]:
        """Every session in the file, oldest first."""
        store = os.fspath(path)
        if not os.path.exists(store):
            return []
        conn = _connect(store, 30.0, False)
        try:
            _migrate(conn, store)
            rows = conn.execute(
                "SELECT s.id, s.created_at, COALESCE(MAX(e.created_at), s.created_at), COUNT(e.seq), "
                "s.metadata FROM sessions s LEFT JOIN entries e ON e.session_id = s.id "
                "GROUP BY s.id ORDER BY s.created_at, s.id"
            ).fetchall()
        finally:
            conn.close()
        return [SessionInfo(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SQLiteSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteSession({self.path!r}, {self._id!r})"

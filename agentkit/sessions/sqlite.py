"""SQLite sessions: a durable journal of every message and tool result, one row each.

Stdlib ``sqlite3`` in WAL mode: writers never block readers, each append is one small transaction
(a process killed at any point loses at most the row it was writing), and several processes may write
different sessions of one file at once (a busy timeout queues their commits). The file carries a
schema version so a later agentkit can migrate it and an older one refuses it clearly.

    session = SQLiteSession("chats.db", "user-42")
    agent.run("Plan my trip", session=session)
    agent.run("Make it cheaper", session=session)   # continues the conversation
    agent.run(None, session=session)                # resumes a run that was killed

A new file is built aside and linked into place whole, so no process ever sees a half-made store: an
existing file that is empty, or that lacks agentkit's tables, is a damaged store (or another program's
database) and is refused with :class:`SessionError`, never silently started afresh. Every ``sqlite3``
error becomes a :class:`SessionError` naming the file and the session, with what to do about it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentkit.errors import SessionError
from agentkit.messages import Message, ToolMessage
from agentkit.sessions import lease as leases
from agentkit.sessions.journal import (
    SessionInfo,
    corrupt_entry,
    decode_message,
    dump_metadata,
    encode_message,
    in_call_order,
    load_metadata,
    valid_session_id,
)

SCHEMA_VERSION = 2
"""1: sessions and entries; 2: leases."""

_LEASES = """CREATE TABLE IF NOT EXISTS leases (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    token TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires_at REAL NOT NULL
)"""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
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
    _LEASES,
)
_MIGRATIONS = {1: (_LEASES,)}  # from version N to N + 1
_TABLES = ("sessions", "entries")  # what every version has

_APPEND = (
    "INSERT OR IGNORE INTO entries (session_id, seq, role, call_id, body, created_at) "
    "SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5 FROM entries WHERE session_id = ?1"
)
# One statement (it holds the write lock from its start) for the usual case: the session exists and
# either nobody holds its lease or ?6, our lease, still does.
_APPEND_IF_UNCONTESTED = (
    "INSERT OR IGNORE INTO entries (session_id, seq, role, call_id, body, created_at) "
    "SELECT ?1, next, ?2, ?3, ?4, ?5 FROM (SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM entries "
    "WHERE session_id = ?1) WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?1) AND CASE WHEN ?6 IS NULL "
    "THEN NOT EXISTS (SELECT 1 FROM leases WHERE session_id = ?1) "
    "ELSE EXISTS (SELECT 1 FROM leases WHERE session_id = ?1 AND token = ?6) END"
)

_DAMAGED = (
    "the file is damaged: restore it from a backup (`sqlite3 FILE .recover` salvages what is still "
    "readable into a new file)"
)


def _advice(exc: sqlite3.Error, timeout: float) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return (
            f"another process kept the file locked for more than {timeout:g} s; try again, or pass a "
            "longer timeout="
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return _DAMAGED
    if "no such table" in text or "no such column" in text:
        return (
            "a table agentkit needs is missing or changed: the file was altered outside agentkit; "
            "restore it from a backup"
        )
    if "readonly" in text or "read-only" in text:
        return "the file or its folder is not writable: check their permissions"
    if "full" in text:
        return "the disk is full: free some space, then resume the run"
    if "unable to open" in text:
        return "check that the folder exists and that this user may read and write there"
    return "check the file (and the disk it is on)"


def _connect(path: str, timeout: float, durable: bool) -> sqlite3.Connection:
    """A connection to the agentkit store ``path`` (checked before anything is changed in it)."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        _stored_version(conn, path)  # another program's database must stay as it is
        _use_wal(conn, path, timeout, durable)
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection, path: str, timeout: float, durable: bool) -> None:
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


def _create_store(path: str) -> None:
    """Build a new store in a file beside ``path`` and link it into place (whole, or not at all). When
    another process created ``path`` meanwhile, theirs is kept."""
    aside = f"{path}.{uuid.uuid4().hex[:12]}.new"
    try:
        conn = sqlite3.connect(aside, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # recorded in the file's header
            conn.execute("BEGIN")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        finally:
            conn.close()  # the last connection checkpoints the WAL into the file and removes it
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: a rename (a race here keeps either file)
            if not os.path.exists(path):
                os.replace(aside, path)
    finally:
        for leftover in (aside, f"{aside}-wal", f"{aside}-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _refuse_empty(path: str) -> None:
    if os.path.getsize(path) == 0:
        raise SessionError(
            f"{path} is empty (0 bytes): it is not a session store, or it was truncated and its sessions "
            "are lost. Restore it from a backup, or delete it to start a new store"
        )


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _stored_version(conn: sqlite3.Connection, path: str) -> int:
    """The file's schema version, after checking that it is an agentkit store this version can read."""
    tables = _tables(conn)
    if "schema_version" not in tables:
        found = ", ".join(sorted(tables)) or "none"
        raise SessionError(
            f"{path} is an SQLite database but not an agentkit session store (no schema_version table; "
            f"tables: {found}). Pass another file, or restore this one from a backup"
        )
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    if row is None or row[0] is None:
        raise SessionError(f"{path} has no schema version recorded: {_DAMAGED}")
    version = int(row[0])
    if version > SCHEMA_VERSION:
        raise SessionError(
            f"{path} has session schema version {version}, newer than this agentkit understands "
            f"({SCHEMA_VERSION}); upgrade agentkit"
        )
    missing = [table for table in _TABLES if table not in tables]
    if missing:
        raise SessionError(f"{path} lacks agentkit's table(s) {', '.join(missing)}: {_DAMAGED}")
    return version


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring an older store up to date; a current one is only read (no write lock)."""
    if _stored_version(conn, path) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _stored_version(conn, path)  # another process may have migrated meanwhile
        while version < SCHEMA_VERSION:
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
        conn.execute("UPDATE schema_version SET version = ?", (version,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class SQLiteSession:
    """One conversation in an SQLite file (a new file is created with its tables).

    Args:
        path: the database file.
        session_id: the conversation's id; a new random one when omitted.
        create: ``False`` raises :class:`SessionError` if the session does not exist yet.
        timeout: seconds to wait for another process's write before failing.
        durable: fsync every append (survives power loss, not just a killed process; slower).
        lease_ttl: seconds a lease lasts after its last renewal (see :mod:`agentkit.sessions.lease`).
        metadata: stored with a new session, shown by :meth:`list_sessions`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        session_id: str | None = None,
        *,
        create: bool = True,
        timeout: float = 30.0,
        durable: bool = False,
        lease_ttl: float = leases.DEFAULT_TTL,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self._id = valid_session_id(session_id, self.path)
        self._timeout = timeout
        self._durable = durable
        self._lease_ttl = lease_ttl
        self._lease_token: str | None = None
        self._lock = threading.Lock()
        try:
            if not os.path.exists(self.path):
                _create_store(self.path)
            _refuse_empty(self.path)
            self._conn = _connect(self.path, timeout, durable)
        except (sqlite3.Error, OSError) as exc:
            raise SessionError(f"cannot open session store {self.path}: {exc}. {self._advice(exc)}") from exc
        try:
            with self._errors("opening"):
                _migrate(self._conn, self.path)
                if create:
                    self._conn.execute(
                        "INSERT OR IGNORE INTO sessions (id, created_at, metadata) VALUES (?, ?, ?)",
                        (self._id, time.time(), dump_metadata(metadata)),
                    )
            if not create and not self.exists():
                raise SessionError(f"no session {self._id!r} in {self.path}")
        except BaseException:
            self._conn.close()
            raise

    @property
    def session_id(self) -> str:
        return self._id

    def _describe(self) -> str:
        return f"session {self._id!r} in {self.path}"

    def _advice(self, exc: BaseException) -> str:
        if isinstance(exc, sqlite3.Error):
            return _advice(exc, self._timeout)
        return "check the path and its permissions"

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise SessionError(f"{action} {self._describe()} failed: {exc}. {self._advice(exc)}") from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (the file's write lock from its start), rolled back on any error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise

    def _holder(self, conn: sqlite3.Connection) -> leases.LeaseHolder | None:
        row = conn.execute(
            "SELECT s.id, l.token, l.owner, l.host, l.pid, l.expires_at FROM sessions s "
            "LEFT JOIN leases l ON l.session_id = s.id WHERE s.id = ?",
            (self._id,),
        ).fetchone()
        if row is None:
            raise SessionError(f"{self._describe()} does not exist (it was deleted?)")
        if row[1] is None:
            return None
        return leases.LeaseHolder(row[1], row[2], row[3], row[4], row[5] - time.time())

    def exists(self) -> bool:
        with self._lock, self._errors("reading"):
            row = self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (self._id,)).fetchone()
        return row is not None

    def append(self, message: Message) -> None:
        """Journal ``message`` as the session's next entry (one transaction, O(log n)); refused while
        another run holds the lease, or after this session object lost its own."""
        body = encode_message(message)
        call_id = message.tool_call_id if isinstance(message, ToolMessage) else None
        row = (self._id, message.role, call_id, body, time.time(), self._lease_token)
        with self._lock, self._errors("journaling to"):
            if self._conn.execute(_APPEND_IF_UNCONTESTED, row).rowcount == 1:
                return
            # Someone else's lease row, a lost lease, a deleted session, or a result already journaled.
            with self._transaction() as conn:
                leases.check_fence(self._describe(), self._lease_token, self._holder(conn))
                conn.execute(_APPEND, row[:5])

    def load(self) -> list[Message]:
        with self._lock, self._errors("reading"):
            rows = self._conn.execute(
                "SELECT seq, body FROM entries WHERE session_id = ? ORDER BY seq", (self._id,)
            ).fetchall()
        messages: list[Message] = []
        for seq, body in rows:
            try:
                messages.append(decode_message(body))
            except (ValueError, RecursionError) as exc:
                raise corrupt_entry(f"{self._describe()}: entry {seq}", exc) from exc
        return in_call_order(messages)

    def __len__(self) -> int:
        with self._lock, self._errors("reading"):
            row = self._conn.execute(
                "SELECT COUNT(*) FROM entries WHERE session_id = ?", (self._id,)
            ).fetchone()
        return int(row[0])

    def child(self, key: str) -> SQLiteSession:
        """The session ``<this id>/<key>`` in the same file (see :meth:`Session.child`)."""
        return SQLiteSession(
            self.path,
            f"{self._id}/{key}",
            timeout=self._timeout,
            durable=self._durable,
            lease_ttl=self._lease_ttl,
        )

    def fork(self, new_id: str | None = None) -> SQLiteSession:
        """A copy of this conversation under a new id (in the same file), to branch from."""
        target = valid_session_id(new_id, self.path)
        with self._lock, self._errors("forking"), self._transaction() as conn:
            self._holder(conn)  # the source still exists
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (target,)).fetchone():
                raise SessionError(f"session {target!r} already exists in {self.path}")
            conn.execute(
                "INSERT INTO sessions (id, created_at, metadata) "
                "SELECT ?, ?, metadata FROM sessions WHERE id = ?",
                (target, time.time(), self._id),
            )
            conn.execute(
                "INSERT INTO entries (session_id, seq, role, call_id, body, created_at) "
                "SELECT ?, seq, role, call_id, body, created_at FROM entries WHERE session_id = ?",
                (target, self._id),
            )
        return SQLiteSession(
            self.path,
            target,
            create=False,
            timeout=self._timeout,
            durable=self._durable,
            lease_ttl=self._lease_ttl,
        )

    def delete(self) -> None:
        """Remove this session, its entries and its lease (refused while another run holds it)."""
        with self._lock, self._errors("deleting"), self._transaction() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (self._id,)).fetchone() is None:
                return
            leases.check_fence(self._describe(), self._lease_token, self._holder(conn))
            conn.execute("DELETE FROM entries WHERE session_id = ?", (self._id,))
            conn.execute("DELETE FROM leases WHERE session_id = ?", (self._id,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (self._id,))

    def lease(self, owner: str | None = None, *, wait: float = 0.0, ttl: float | None = None) -> leases.Lease:
        """Hold this session for one run (see :mod:`agentkit.sessions.lease`); ``wait`` seconds for a
        live holder to give it back before raising :class:`~agentkit.errors.SessionBusyError`."""
        return leases.Lease(self, owner, ttl or self._lease_ttl, wait)

    def _acquire_lease(self, token: str, owner: str, ttl: float) -> leases.LeaseHolder | None:
        with self._lock, self._errors("leasing"), self._transaction() as conn:
            holder = self._holder(conn)
            if holder is not None and holder.token != token and not holder.is_over():
                return holder
            conn.execute(
                "INSERT OR REPLACE INTO leases (session_id, token, owner, host, pid, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self._id, token, owner, leases.host_identity(), os.getpid(), time.time() + ttl),
            )
        return None

    def _renew_lease(self, token: str, ttl: float) -> bool:
        with self._lock, self._errors("renewing the lease of"):
            cursor = self._conn.execute(
                "UPDATE leases SET expires_at = ? WHERE session_id = ? AND token = ?",
                (time.time() + ttl, self._id, token),
            )
        return cursor.rowcount == 1

    def _release_lease(self, token: str) -> None:
        with self._lock, self._errors("releasing the lease of"):
            self._conn.execute("DELETE FROM leases WHERE session_id = ? AND token = ?", (self._id, token))

    @staticmethod
    def list_sessions(path: str | os.PathLike[str], *, timeout: float = 5.0) -> list[SessionInfo]:
        """Every session in the file, oldest first. Read-only: it takes no lock a writer waits for,
        migrates nothing and creates nothing (a missing file has no sessions)."""
        store = os.fspath(path)
        if not os.path.exists(store):
            return []
        _refuse_empty(store)
        try:
            uri = Path(store).absolute().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
            try:
                _stored_version(conn, store)
                rows = conn.execute(
                    "SELECT s.id, s.created_at, MAX(s.created_at, COALESCE(MAX(e.created_at), 0)), "
                    "COUNT(e.seq), s.metadata FROM sessions s LEFT JOIN entries e ON e.session_id = s.id "
                    "GROUP BY s.id ORDER BY s.created_at, s.id"
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise SessionError(
                f"listing the sessions in {store} failed: {exc}. {_advice(exc, timeout)}"
            ) from exc
        return [SessionInfo(r[0], r[1], r[2], r[3], load_metadata(r[4])) for r in rows]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SQLiteSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteSession({self.path!r}, {self._id!r})"

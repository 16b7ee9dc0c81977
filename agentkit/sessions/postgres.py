"""PostgreSQL sessions: the journal of :class:`SQLiteSession`, shared by workers on many machines.

The same behaviour as SQLite (one row per message, results deduplicated per call, fork, list, delete,
leases, a schema version), in four tables of their own schema (``agentkit`` unless told otherwise), on
psycopg 3 (``pip install 'agentkit[postgres]'``):

    session = PostgresSession("postgresql://user@db-host/agents", "ticket-1234")
    agent.run("Triage this ticket", session=session)

Connections: the sessions of one process share one connection per URL (a process with thousands of
sessions opens one connection, not thousands); each operation is one short transaction on it. When
the server goes away mid-run (a restart, a failover), an operation waits and reconnects for up to
``reconnect_timeout`` seconds, then fails with :class:`SessionError`; every entry committed before is
kept, and the run resumes with ``run(None, session=...)``. An append retried over a new connection is
not journaled twice: each carries a unique entry id. A server unreachable when the session is opened
is a :class:`SessionError` at once (after ``connect_timeout``).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from agentkit.errors import ConfigurationError, SessionError
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

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
except ImportError as exc:  # pragma: no cover - the postgres extra is part of the test install
    raise ConfigurationError("PostgresSession needs psycopg 3: pip install 'agentkit[postgres]'") from exc

SCHEMA_VERSION = 1
T = TypeVar("T")

# Errors after which the connection is unusable and a new one may succeed (server restarting).
_CONNECTION_LOST = (pg_errors.AdminShutdown, pg_errors.CrashShutdown, pg_errors.CannotConnectNow)


def describe_url(url: str) -> str:
    """The server and database of ``url``, for messages (never the password)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "PostgreSQL (an invalid URL)"
    where = f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}"
    return f"PostgreSQL database {parts.get('dbname') or parts.get('user') or '?'!r} at {where}"


class _Queries:
    """Every statement, with the schema's name quoted once."""

    def __init__(self, schema: str) -> None:
        def q(text: str) -> sql.Composed:
            return sql.SQL(text).format(s=sql.Identifier(schema))

        self.schema = schema
        self.create: list[sql.Composed] = [
            q("CREATE SCHEMA IF NOT EXISTS {s}"),
            q("CREATE TABLE IF NOT EXISTS {s}.schema_version (version INTEGER NOT NULL)"),
            q(
                "CREATE TABLE IF NOT EXISTS {s}.sessions (id TEXT PRIMARY KEY, "
                "created_at DOUBLE PRECISION NOT NULL, metadata TEXT NOT NULL DEFAULT '{{}}')"
            ),
            q(
                "CREATE TABLE IF NOT EXISTS {s}.entries ("
                "session_id TEXT NOT NULL REFERENCES {s}.sessions(id) ON DELETE CASCADE, "
                "seq INTEGER NOT NULL, entry_id TEXT NOT NULL, role TEXT NOT NULL, call_id TEXT, "
                "body TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (session_id, seq), "
                "UNIQUE (session_id, entry_id))"
            ),
            # At most one result per call: a result journaled twice (a retried write) is ignored.
            q(
                "CREATE UNIQUE INDEX IF NOT EXISTS entries_one_result ON {s}.entries (session_id, call_id) "
                "WHERE role = 'tool'"
            ),
            q(
                "CREATE TABLE IF NOT EXISTS {s}.leases ("
                "session_id TEXT PRIMARY KEY REFERENCES {s}.sessions(id) ON DELETE CASCADE, "
                "token TEXT NOT NULL, owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, "
                "expires_at TIMESTAMPTZ NOT NULL)"
            ),
        ]
        self.version = q("SELECT version FROM {s}.schema_version")
        self.set_version = q("INSERT INTO {s}.schema_version (version) VALUES (%s)")
        self.add_session = q(
            "INSERT INTO {s}.sessions (id, created_at, metadata) "
            "VALUES (%s, EXTRACT(EPOCH FROM clock_timestamp()), %s) ON CONFLICT (id) DO NOTHING"
        )
        self.exists = q("SELECT 1 FROM {s}.sessions WHERE id = %s")
        self.lock = q("SELECT 1 FROM {s}.sessions WHERE id = %s FOR UPDATE")
        self.holder = q(
            "SELECT token, owner, host, pid, EXTRACT(EPOCH FROM expires_at - clock_timestamp()) "
            "FROM {s}.leases WHERE session_id = %s"
        )
        self.append = q(
            "INSERT INTO {s}.entries (session_id, seq, entry_id, role, call_id, body, created_at) "
            "SELECT %s, COALESCE(MAX(seq), 0) + 1, %s, %s, %s, %s, EXTRACT(EPOCH FROM clock_timestamp()) "
            "FROM {s}.entries WHERE session_id = %s ON CONFLICT DO NOTHING"
        )
        self.load = q("SELECT seq, body FROM {s}.entries WHERE session_id = %s ORDER BY seq")
        self.count = q("SELECT COUNT(*) FROM {s}.entries WHERE session_id = %s")
        self.fork_session = q(
            "INSERT INTO {s}.sessions (id, created_at, metadata) "
            "SELECT %s, EXTRACT(EPOCH FROM clock_timestamp()), metadata FROM {s}.sessions WHERE id = %s "
            "ON CONFLICT (id) DO NOTHING"
        )
        self.fork_entries = q(
            "INSERT INTO {s}.entries (session_id, seq, entry_id, role, call_id, body, created_at) "
            "SELECT %s, seq, entry_id, role, call_id, body, created_at FROM {s}.entries WHERE session_id = %s"
        )
        self.delete = q("DELETE FROM {s}.sessions WHERE id = %s")
        self.take_lease = q(
            "INSERT INTO {s}.leases (session_id, token, owner, host, pid, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, clock_timestamp() + %s * interval '1 second') "
            "ON CONFLICT (session_id) DO UPDATE SET token = EXCLUDED.token, owner = EXCLUDED.owner, "
            "host = EXCLUDED.host, pid = EXCLUDED.pid, expires_at = EXCLUDED.expires_at"
        )
        self.renew_lease = q(
            "UPDATE {s}.leases SET expires_at = clock_timestamp() + %s * interval '1 second' "
            "WHERE session_id = %s AND token = %s"
        )
        self.release_lease = q("DELETE FROM {s}.leases WHERE session_id = %s AND token = %s")
        self.list = q(
            "SELECT s.id, s.created_at, GREATEST(MAX(e.created_at), s.created_at), COUNT(e.seq), s.metadata "
            "FROM {s}.sessions s LEFT JOIN {s}.entries e ON e.session_id = s.id "
            "GROUP BY s.id ORDER BY s.created_at, s.id"
        )


def _text(exc: BaseException | None) -> str:
    """An error's message on one line (libpq's span several)."""
    return " ".join(str(exc).split())


def _connect(url: str, timeout: float) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(timeout)))
    except psycopg.Error as exc:
        raise SessionError(
            f"cannot connect to {describe_url(url)}: {_text(exc)}. Check the URL, and that the server "
            "is running and reachable from this machine"
        ) from exc


class _Link:
    """One connection to one server, shared by the sessions of this process; reconnects on demand."""

    def __init__(self, url: str, connect_timeout: float) -> None:
        self.url = url
        self.where = describe_url(url)
        self.connect_timeout = connect_timeout
        self.lock = threading.Lock()
        self.users = 0
        self.conn: psycopg.Connection[Any] | None = _connect(url, connect_timeout)

    def run(self, work: Callable[[psycopg.Connection[Any], bool], T], *, wait: float, action: str) -> T:
        """``work(conn, retried)`` in one transaction; after a lost connection, reconnect and retry for
        up to ``wait`` seconds (``work`` must then be idempotent: ``retried`` says it may have run)."""
        deadline = time.monotonic() + wait
        delay, retried = 0.05, False
        while True:
            with self.lock:
                try:
                    if self.conn is None or self.conn.closed:
                        self.conn = _connect(self.url, self.connect_timeout)
                    with self.conn.transaction():
                        return work(self.conn, retried)
                except SessionError as exc:
                    if not isinstance(exc.__cause__, psycopg.OperationalError):
                        raise
                    problem: Exception = exc
                except psycopg.Error as exc:
                    if not (self.conn is None or self.conn.broken or isinstance(exc, _CONNECTION_LOST)):
                        raise
                    problem = exc
                    if self.conn is not None:
                        self.conn.close()
                    self.conn = None
            retried = True
            if time.monotonic() + delay > deadline:
                cause = problem.__cause__ if isinstance(problem, SessionError) else problem
                raise SessionError(
                    f"{action} failed: the connection to {self.where} was lost and the server did not "
                    f"come back within {wait:g} s ({_text(cause)}). Everything journaled before is kept: "
                    "once the server is back, resume the run with run(None, session=...)"
                ) from problem
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def close(self) -> None:
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None


_links: dict[str, _Link] = {}
_links_lock = threading.Lock()


def _open_link(url: str, connect_timeout: float) -> _Link:
    with _links_lock:
        link = _links.get(url)
        if link is None:
            link = _links[url] = _Link(url, connect_timeout)
        link.users += 1
        return link


def _close_link(link: _Link) -> None:
    with _links_lock:
        link.users -= 1
        if link.users > 0:
            return
        if _links.get(link.url) is link:
            del _links[link.url]
    link.close()


_inherited: list[_Link] = []


def _forget_links_after_fork() -> None:
    """A forked child must not speak on its parent's sockets, nor close them (that would end the
    parent's connections): it keeps the objects alive, unused, and opens its own."""
    _inherited.extend(_links.values())
    _links.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_links_after_fork)


def _stored_version(conn: psycopg.Connection[Any], queries: _Queries, where: str) -> int | None:
    """The schema version of the store (``None``: nothing was ever stored), refused when newer."""
    name = '"' + queries.schema.replace('"', '""') + '".schema_version'
    found = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
    if found is None or found[0] is None:
        return None
    row = conn.execute(queries.version).fetchone()
    version = int(row[0]) if row is not None else None
    if version is not None and version > SCHEMA_VERSION:
        raise SessionError(
            f"{where} (schema {queries.schema!r}) has session schema version {version}, newer than this "
            f"agentkit understands ({SCHEMA_VERSION}); upgrade agentkit"
        )
    return version


def _migrate(conn: psycopg.Connection[Any], queries: _Queries, where: str) -> None:
    """Check the store's version; create its tables if there are none (concurrent creators wait on
    one advisory lock; a current store is only read)."""
    if _stored_version(conn, queries, where) == SCHEMA_VERSION:
        return
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('agentkit.sessions.migrate'))")
    for statement in queries.create[:2]:
        conn.execute(statement)
    if _stored_version(conn, queries, where) is None:
        for statement in queries.create[2:]:
            conn.execute(statement)
        conn.execute(queries.set_version, (SCHEMA_VERSION,))


def _wrap(action: str, exc: psycopg.Error) -> SessionError:
    hint = {
        pg_errors.UndefinedTable: "a table of agentkit's schema is missing: the store was changed outside "
        "agentkit; restore it from a backup, or use another schema",
        pg_errors.InsufficientPrivilege: "the database user lacks a privilege agentkit needs (creating its "
        "schema and tables, writing to them): grant it, or use another user",
        pg_errors.ReadOnlySqlTransaction: "the server is read-only (a standby?): connect to the primary",
    }
    advice = next((text for kind, text in hint.items() if isinstance(exc, kind)), "check the server's log")
    return SessionError(f"{action} failed: {_text(exc)}. {advice}")


class PostgresSession:
    """One conversation in a PostgreSQL database (its tables are created on first use).

    Args:
        url: ``postgresql://user[:password]@host[:port]/database[?options]`` (libpq's URL or key=value
            form; a password may also come from ``PGPASSWORD`` or ``~/.pgpass``).
        session_id: the conversation's id; a new random one when omitted.
        create: ``False`` raises :class:`SessionError` if the session does not exist yet.
        schema: the PostgreSQL schema holding agentkit's tables.
        connect_timeout: seconds to wait for the server when connecting.
        reconnect_timeout: seconds an operation waits for a lost server to come back before failing.
        lease_ttl: seconds a lease lasts after its last renewal (see :mod:`agentkit.sessions.lease`).
        metadata: stored with a new session, shown by :meth:`list_sessions`.
    """

    def __init__(
        self,
        url: str,
        session_id: str | None = None,
        *,
        create: bool = True,
        schema: str = "agentkit",
        connect_timeout: float = 10.0,
        reconnect_timeout: float = 30.0,
        lease_ttl: float = leases.DEFAULT_TTL,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.where = describe_url(url)
        self._id = valid_session_id(session_id, self.where)
        self._queries = _Queries(schema)
        self._reconnect_timeout = reconnect_timeout
        self._connect_timeout = connect_timeout
        self._lease_ttl = lease_ttl
        self._lease_token: str | None = None
        self._link: _Link | None = _open_link(url, connect_timeout)
        try:
            self._run(lambda conn, _: _migrate(conn, self._queries, self.where), "opening the store")
            if create:
                body = dump_metadata(metadata)
                self._run(
                    lambda conn, _: conn.execute(self._queries.add_session, (self._id, body)), "opening"
                )
            elif not self.exists():
                raise SessionError(f"no {self._describe()}")
        except BaseException:
            self.close()
            raise

    @property
    def session_id(self) -> str:
        return self._id

    def _describe(self) -> str:
        return f"session {self._id!r} in {self.where}"

    def _run(
        self, work: Callable[[psycopg.Connection[Any], bool], T], action: str, *, wait: bool = True
    ) -> T:
        if self._link is None:
            raise SessionError(f"{self._describe()} is closed")
        try:
            action = f"{action} {self._describe()}"
            return self._link.run(work, wait=self._reconnect_timeout if wait else 0.0, action=action)
        except psycopg.Error as exc:
            raise _wrap(action, exc) from exc

    def exists(self) -> bool:
        return self._run(
            lambda conn, _: conn.execute(self._queries.exists, (self._id,)).fetchone() is not None, "reading"
        )

    def _holder(self, conn: psycopg.Connection[Any]) -> leases.LeaseHolder | None:
        """Lock the session's row for this transaction; its lease holder, if any.

        Two statements, not one join: under READ COMMITTED a statement that waited for the row lock
        still sees the other tables as they were when it started, so a lease taken meanwhile by the
        transaction it waited for would be missed. The second statement sees it."""
        if conn.execute(self._queries.lock, (self._id,)).fetchone() is None:
            raise SessionError(f"{self._describe()} does not exist (it was deleted?)")
        row = conn.execute(self._queries.holder, (self._id,)).fetchone()
        if row is None:
            return None
        return leases.LeaseHolder(row[0], row[1], row[2], row[3], float(row[4]))

    def append(self, message: Message) -> None:
        """Journal ``message`` as the session's next entry (one transaction)."""
        body = encode_message(message)
        call_id = message.tool_call_id if isinstance(message, ToolMessage) else None
        entry_id = uuid.uuid4().hex  # makes a retry after a lost connection harmless

        def work(conn: psycopg.Connection[Any], _: bool) -> None:
            leases.check_fence(self._describe(), self._lease_token, self._holder(conn))
            params = (self._id, entry_id, message.role, call_id, body, self._id)
            conn.execute(self._queries.append, params)

        self._run(work, "journaling to")

    def load(self) -> list[Message]:
        rows = self._run(lambda conn, _: conn.execute(self._queries.load, (self._id,)).fetchall(), "reading")
        messages: list[Message] = []
        for seq, body in rows:
            try:
                messages.append(decode_message(body))
            except (ValueError, RecursionError) as exc:
                raise corrupt_entry(f"{self._describe()}: entry {seq}", exc) from exc
        return in_call_order(messages)

    def __len__(self) -> int:
        row = self._run(lambda conn, _: conn.execute(self._queries.count, (self._id,)).fetchone(), "reading")
        return int(row[0]) if row else 0

    def child(self, key: str) -> PostgresSession:
        """The session ``<this id>/<key>`` in the same database and schema (see :meth:`Session.child`)."""
        return PostgresSession(
            self.url,
            f"{self._id}/{key}",
            schema=self._queries.schema,
            connect_timeout=self._connect_timeout,
            reconnect_timeout=self._reconnect_timeout,
            lease_ttl=self._lease_ttl,
        )

    def fork(self, new_id: str | None = None) -> PostgresSession:
        """A copy of this conversation under a new id (in the same database), to branch from."""
        target = valid_session_id(new_id, self.where)

        def work(conn: psycopg.Connection[Any], retried: bool) -> None:
            self._holder(conn)  # the source exists, and no append changes it while it is copied
            added = conn.execute(self._queries.fork_session, (target, self._id)).rowcount
            if added == 0:
                if retried:  # our first attempt committed before the connection was lost
                    return
                raise SessionError(f"session {target!r} already exists in {self.where}")
            conn.execute(self._queries.fork_entries, (target, self._id))

        self._run(work, "forking")
        return PostgresSession(
            self.url,
            target,
            create=False,
            schema=self._queries.schema,
            reconnect_timeout=self._reconnect_timeout,
            lease_ttl=self._lease_ttl,
        )

    def delete(self) -> None:
        """Remove this session, its entries and its lease (refused while another run holds it)."""

        def work(conn: psycopg.Connection[Any], _: bool) -> None:
            if conn.execute(self._queries.exists, (self._id,)).fetchone() is None:
                return
            leases.check_fence(self._describe(), self._lease_token, self._holder(conn))
            conn.execute(self._queries.delete, (self._id,))

        self._run(work, "deleting")

    def lease(self, owner: str | None = None, *, wait: float = 0.0, ttl: float | None = None) -> leases.Lease:
        """Hold this session for one run (see :mod:`agentkit.sessions.lease`); ``wait`` seconds for a
        live holder to give it back before raising :class:`~agentkit.errors.SessionBusyError`."""
        return leases.Lease(self, owner, ttl or self._lease_ttl, wait)

    def _acquire_lease(self, token: str, owner: str, ttl: float) -> leases.LeaseHolder | None:
        def work(conn: psycopg.Connection[Any], _: bool) -> leases.LeaseHolder | None:
            holder = self._holder(conn)
            if holder is not None and holder.token != token and not holder.is_over():
                return holder
            params = (self._id, token, owner, leases.host_identity(), os.getpid(), ttl)
            conn.execute(self._queries.take_lease, params)
            return None

        return self._run(work, "leasing")

    def _renew_lease(self, token: str, ttl: float) -> bool:
        def work(conn: psycopg.Connection[Any], _: bool) -> bool:
            return conn.execute(self._queries.renew_lease, (ttl, self._id, token)).rowcount == 1

        return self._run(work, "renewing the lease of", wait=False)

    def _release_lease(self, token: str) -> None:
        self._run(
            lambda conn, _: conn.execute(self._queries.release_lease, (self._id, token)),
            "releasing",
            wait=False,
        )

    @staticmethod
    def list_sessions(
        url: str, *, schema: str = "agentkit", connect_timeout: float = 10.0
    ) -> list[SessionInfo]:
        """Every session in the database, oldest first (read-only: creates nothing, takes no lock)."""
        queries = _Queries(schema)
        where = describe_url(url)
        with _connect(url, connect_timeout) as conn:
            try:
                with conn.transaction():
                    conn.execute("SET TRANSACTION READ ONLY")
                    if _stored_version(conn, queries, where) is None:
                        return []  # nothing was ever stored here
                    rows = conn.execute(queries.list).fetchall()
            except psycopg.Error as exc:
                raise _wrap(f"listing the sessions in {where}", exc) from exc
        return [SessionInfo(r[0], r[1], r[2], r[3], load_metadata(r[4])) for r in rows]

    def close(self) -> None:
        if self._link is not None:
            link, self._link = self._link, None
            _close_link(link)

    def __enter__(self) -> PostgresSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresSession({self.where}, {self._id!r})"

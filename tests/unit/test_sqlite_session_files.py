"""What only the SQLite store has: its file. Damaged, emptied or foreign files are clear errors naming
the file; a listing never waits for a writer; new files appear whole; old files are migrated."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from agentkit import SessionError, UserMessage
from agentkit.sessions import SCHEMA_VERSION, SQLiteSession


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


def filled(db: Path, sessions: int = 1, messages: int = 200) -> None:
    """A store of several pages (every connection closed: the WAL is checkpointed into the file)."""
    for n in range(sessions):
        with SQLiteSession(db, f"s{n}") as session:
            for i in range(messages):
                session.append(UserMessage(content=f"message {i} " + "x" * 200))


def test_a_new_file_is_wal_with_the_current_schema_version(db: Path) -> None:
    SQLiteSession(db, "s").append(UserMessage(content="hi"))
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert sorted(p.name for p in db.parent.iterdir() if ".new" in p.name) == []  # no leftovers


def test_a_file_emptied_to_zero_bytes_is_refused_naming_it(db: Path) -> None:
    filled(db, messages=3)
    db.write_bytes(b"")
    with pytest.raises(SessionError, match=f"{db} is empty \\(0 bytes\\).*backup"):
        SQLiteSession(db, "s0")
    with pytest.raises(SessionError, match=f"{db} is empty"):
        SQLiteSession.list_sessions(db)
    assert db.stat().st_size == 0  # left as it was, for the user to restore


def test_a_file_that_is_not_a_database_is_refused_naming_it(db: Path) -> None:
    db.write_bytes(b"this is a text file, not SQLite\n" * 100)
    with pytest.raises(
        SessionError, match=f"cannot open session store {db}: file is not a database.*damaged"
    ):
        SQLiteSession(db, "s")
    with pytest.raises(SessionError, match=f"listing the sessions in {db} failed.*damaged"):
        SQLiteSession.list_sessions(db)


def test_a_damaged_page_is_a_session_error_naming_the_file_and_session(db: Path) -> None:
    filled(db)
    session = SQLiteSession(db, "s0")
    page_size = 4096
    size = db.stat().st_size
    assert size > 8 * page_size
    with open(db, "r+b") as handle:  # overwrite the middle pages (the entries' b-tree) with noise
        handle.seek(3 * page_size)
        handle.write(bytes(range(256)) * ((size - 4 * page_size) // 256))
    with pytest.raises(SessionError, match=f"reading session 's0' in {db} failed: .*malformed.*backup"):
        session.load()
    with pytest.raises(SessionError, match=f"session 's0' in {db}"):
        len(session)
    with pytest.raises(SessionError, match=f"{db}.*malformed"):
        SQLiteSession.list_sessions(db)


def test_another_programs_database_is_refused_and_left_unchanged(db: Path) -> None:
    raw = sqlite3.connect(db)
    raw.execute("CREATE TABLE users (name TEXT)")
    raw.commit()
    raw.close()
    before = db.read_bytes()
    with pytest.raises(SessionError, match=r"not an agentkit session store.*tables: users"):
        SQLiteSession(db, "s")
    with pytest.raises(SessionError, match="not an agentkit session store"):
        SQLiteSession.list_sessions(db)
    assert db.read_bytes() == before


def test_a_listing_does_not_wait_for_a_writer_and_sees_what_was_committed(db: Path) -> None:
    filled(db, sessions=2, messages=1)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    writer.execute("INSERT INTO sessions (id, created_at) VALUES ('uncommitted', 0)")
    listed: list[list[str]] = []
    reader = threading.Thread(
        target=lambda: listed.append([i.session_id for i in SQLiteSession.list_sessions(db)])
    )
    reader.start()
    reader.join(timeout=10)  # far below the writers' 30 s busy timeout the listing used to wait out
    finished = not reader.is_alive()
    writer.execute("ROLLBACK")
    reader.join()
    assert finished and listed == [["s0", "s1"]]


def test_a_listing_creates_and_migrates_nothing(db: Path) -> None:
    assert SQLiteSession.list_sessions(db) == []
    assert not db.exists()
    filled(db, messages=1)
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("DROP TABLE leases")  # what a version 1 file looks like
    raw.execute("UPDATE schema_version SET version = 1")
    raw.close()
    assert [i.session_id for i in SQLiteSession.list_sessions(db)] == ["s0"]
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT version FROM schema_version").fetchone() == (1,)
    raw.close()
    with SQLiteSession(db, "s0") as session:  # opened to write: migrated, entries kept
        with session.lease():
            session.append(UserMessage(content="after the migration"))
        assert len(session) == 2
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)


def test_a_write_that_waits_too_long_says_what_to_do(db: Path) -> None:
    session = SQLiteSession(db, "s", timeout=0.2)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(
            SessionError, match=f"journaling to session 's' in {db} failed: .*locked.*timeout="
        ):
            session.append(UserMessage(content="hi"))
    finally:
        writer.execute("ROLLBACK")
    session.append(UserMessage(content="hi"))
    assert len(session) == 1


def test_a_session_id_that_is_not_text_is_refused(db: Path) -> None:
    with pytest.raises(SessionError, match="not valid text"):
        SQLiteSession(db, "bad\udcffid")


def test_a_missing_folder_is_a_session_error(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match=r"cannot open session store .*missing"):
        SQLiteSession(tmp_path / "missing" / "s.db", "s")

"""What only the PostgreSQL store has: a server that can be unreachable or restart mid-run, and the
schema its tables live in. A real server throughout (tests/pg_server.py); the restart tests start their
own, so stopping it disturbs no other test."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from agentkit import Agent, SessionError, ToolMessage, UserMessage, tool
from agentkit.context import pairing_problems
from agentkit.sessions import PostgresSession, list_sessions, session_from_url
from agentkit.testing import ScriptedBackend, call
from tests.pg_server import PostgresServer, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def test_an_unreachable_server_is_a_clear_session_error_without_the_password() -> None:
    url = f"postgresql://agentkit:hunter2@127.0.0.1:{free_port()}/jobs"
    refused = r"cannot connect to PostgreSQL database 'jobs' at 127\.0\.0\.1:\d+: .*refused"
    with pytest.raises(SessionError, match=refused) as error:
        session_from_url(url, "s", connect_timeout=2)
    assert "hunter2" not in str(error.value)
    with pytest.raises(SessionError, match="cannot connect"):
        list_sessions(url)


def test_appends_wait_for_a_restarting_server_and_are_journaled_once(own_server: PostgresServer) -> None:
    session = PostgresSession(own_server.url, "s", reconnect_timeout=60)
    session.append(UserMessage(content="before"))
    own_server.stop("immediate")  # as a crash would
    restarter = threading.Timer(1.0, own_server.start)
    restarter.start()
    session.append(UserMessage(content="during the restart"))  # waits, reconnects, writes
    restarter.join()
    assert [m.content for m in session.load()] == ["before", "during the restart"]
    session.close()


def test_an_outage_past_the_bound_fails_the_run_resumably(own_server: PostgresServer) -> None:
    ran: list[int] = []

    @tool
    def record(n: int) -> int:
        """Record n; the server goes away while the first record(2) runs."""
        ran.append(n)
        if ran == [1, 2]:
            own_server.stop("immediate")
        return n

    session = PostgresSession(own_server.url, "job", reconnect_timeout=1.0)
    agent = Agent(
        model=ScriptedBackend([call("record", n=1), call("record", n=2), "all recorded"]), tools=[record]
    )
    lost = r"journaling to session 'job' in PostgreSQL .* did not come back within 1 s"
    with pytest.raises(SessionError, match=lost + r".*resume the run with run\(None"):
        agent.run("record two", session=session)
    own_server.start()
    # The same process resumes at once (the lease it could not give back is known to be over).
    resumed = Agent(model=ScriptedBackend(["all recorded"]), tools=[record]).run(
        None, session=PostgresSession(own_server.url, "job")
    )
    assert resumed.output == "all recorded"
    assert ran == [1, 2, 2]  # the call whose result never reached the journal ran again (at-least-once)
    history = PostgresSession(own_server.url, "job").load()
    assert pairing_problems(history) == [] and sum(isinstance(m, ToolMessage) for m in history) == 2


def test_a_listing_of_an_empty_database_creates_nothing(postgres_url: str) -> None:
    assert PostgresSession.list_sessions(postgres_url) == []
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regnamespace('agentkit')").fetchone() == (None,)


def test_schemas_are_separate_stores(postgres_url: str) -> None:
    PostgresSession(postgres_url, "a").append(UserMessage(content="in the default schema"))
    PostgresSession(postgres_url, "b", schema="team two").append(UserMessage(content="in another"))
    assert [i.session_id for i in PostgresSession.list_sessions(postgres_url)] == ["a"]
    assert [i.session_id for i in PostgresSession.list_sessions(postgres_url, schema="team two")] == ["b"]
    with pytest.raises(SessionError, match="no session 'a'"):
        PostgresSession(postgres_url, "a", schema="team two", create=False)


def test_stores_opened_at_once_by_many_threads_create_the_tables_once(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def open_one(n: int) -> None:
        try:
            # Separate connections (a per-thread URL variant), racing to create the schema.
            url = f"{postgres_url}?application_name=t{n}"
            with PostgresSession(url, f"s{n}") as session:
                session.append(UserMessage(content=str(n)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(i.session_id for i in PostgresSession.list_sessions(postgres_url)) == [
        f"s{n}" for n in range(8)
    ]


def test_sessions_of_one_process_share_one_connection(postgres_url: str) -> None:
    sessions = [PostgresSession(postgres_url, f"s{n}") for n in range(20)]
    with psycopg.connect(postgres_url) as admin:
        name = postgres_url.rsplit("/", 1)[1]
        [(count,)] = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    assert count == 2  # the sessions' shared one, and this admin connection
    for session in sessions:
        session.close()


def test_session_from_url_opens_postgres(postgres_url: str) -> None:
    session = session_from_url(postgres_url, "x", metadata={"k": 1})
    assert isinstance(session, PostgresSession)
    assert session_from_url(postgres_url.replace("postgresql://", "postgres://"), "x", create=False).exists()
    assert list_sessions(postgres_url)[0].metadata == {"k": 1}

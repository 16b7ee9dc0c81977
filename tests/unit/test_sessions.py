"""SQLite sessions: the journal, its file format, and continuing and resuming runs through the agent."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    ConfigurationError,
    SessionError,
    SystemMessage,
    ToolCall,
    ToolCallStarted,
    ToolMessage,
    UserMessage,
    tool,
)
from agentkit.sessions import SCHEMA_VERSION, Session, SQLiteSession, continuation
from agentkit.testing import ScriptedBackend, call


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


_A, _B = ToolCall(name="add", arguments={"a": 1, "b": 2}), ToolCall(name="add", arguments={"a": 3, "b": 4})


def conversation() -> list[Any]:
    a, b = _A, _B
    return [
        SystemMessage(content="sys"),
        UserMessage(content="add things 東京"),
        AssistantMessage(content=None, tool_calls=[a, b]),
        ToolMessage(tool_call_id=a.id, name="add", content="3"),
        ToolMessage(tool_call_id=b.id, name="add", content="7", is_error=True),
        AssistantMessage(content="3 and 7"),
    ]


def test_messages_round_trip_and_the_file_is_wal_with_a_schema_version(db: Path) -> None:
    with SQLiteSession(db, "s1") as session:
        assert isinstance(session, Session)
        for message in conversation():
            session.append(message)
        assert session.load() == conversation()
        assert len(session) == 6
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_results_journaled_as_they_finished_load_in_call_order_and_only_once(db: Path) -> None:
    messages = conversation()
    session = SQLiteSession(db, "s")
    for message in [messages[0], messages[1], messages[2], messages[4], messages[3], messages[4]]:
        session.append(message)
    assert session.load() == messages[:5]


def test_fork_list_delete(db: Path) -> None:
    session = SQLiteSession(db, "main", metadata={"user": "ann"})
    for message in conversation()[:2]:
        session.append(message)
    branch = session.fork("branch")
    branch.append(AssistantMessage(content="only in the branch"))
    assert session.load() == conversation()[:2]
    assert branch.load()[-1] == AssistantMessage(content="only in the branch")
    with pytest.raises(SessionError, match="already exists"):
        session.fork("branch")
    infos = {i.session_id: i for i in SQLiteSession.list_sessions(db)}
    assert (infos["main"].messages, infos["branch"].messages) == (2, 3)
    assert infos["branch"].metadata == {"user": "ann"}
    assert infos["main"].updated_at >= infos["main"].created_at
    branch.delete()
    assert [i.session_id for i in SQLiteSession.list_sessions(db)] == ["main"]
    with pytest.raises(SessionError, match="no session 'branch'"):
        SQLiteSession(db, "branch", create=False)
    assert SQLiteSession.list_sessions(db.parent / "missing.db") == []


def test_a_newer_schema_and_a_corrupt_entry_are_clear_errors(db: Path) -> None:
    session = SQLiteSession(db, "s")
    session.append(UserMessage(content="hi"))
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute('UPDATE entries SET body = \'{"role": "user"}\'')
    with pytest.raises(SessionError, match="entry 1 is not a valid message"):
        session.load()
    raw.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(SessionError, match="newer than this agentkit"):
        SQLiteSession(db, "s")


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_runs_journal_everything_and_continue_the_conversation(db: Path) -> None:
    session = SQLiteSession(db, "chat")
    backend = ScriptedBackend([call("add", a=2, b=3), "5", "And 5 again."])
    agent = Agent(model=backend, tools=[add])
    first = agent.run("What is 2 + 3?", session=session)
    assert session.load() == first.messages
    second = agent.run("Repeat it.", session=session)
    assert list(backend.requests[2].messages[: len(first.messages)]) == first.messages
    assert second.messages[-2:] == [
        UserMessage(content="Repeat it."),
        AssistantMessage(content="And 5 again."),
    ]
    assert SQLiteSession(db, "chat").load() == second.messages


def interrupted(db: Path) -> tuple[SQLiteSession, list[ToolCall]]:
    """A session whose run died after journaling one of three parallel results."""
    calls = [call("record", n=i) for i in range(3)]
    session = SQLiteSession(db, "job")
    for message in [
        SystemMessage(content="sys"),
        UserMessage(content="record three"),
        AssistantMessage(tool_calls=calls),
        ToolMessage(tool_call_id=calls[1].id, name="record", content="1"),
    ]:
        session.append(message)
    return session, calls


def test_resume_runs_only_the_calls_without_a_journaled_result(db: Path) -> None:
    session, calls = interrupted(db)
    ran: list[int] = []

    @tool
    def record(n: int) -> int:
        """Record n."""
        ran.append(n)
        return n

    backend = ScriptedBackend(["all recorded"])
    result = Agent(model=backend, tools=[record]).run(None, session=session)
    assert sorted(ran) == [0, 2] and result.output == "all recorded"
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in results] == [c.id for c in calls]  # call order restored
    assert list(backend.requests[0].messages) == result.messages[:-1]
    assert session.load() == result.messages


def test_a_new_prompt_on_an_interrupted_run_is_refused(db: Path) -> None:
    session, _ = interrupted(db)
    with pytest.raises(SessionError, match="interrupted"):
        Agent(model=ScriptedBackend(["x"])).run("something else", session=session)
    assert continuation(session.load()).pending


def test_resuming_a_finished_run_returns_its_answer_without_calling_the_model(db: Path) -> None:
    session = SQLiteSession(db, "done")
    for message in conversation():
        session.append(message)
    backend = ScriptedBackend([])
    result = Agent(model=backend).run(None, session=session)
    assert (result.output, result.steps, result.stop_reason) == ("3 and 7", 0, "final_answer")
    assert backend.requests == []


def test_resume_needs_something_to_resume_and_one_source_of_history(db: Path) -> None:
    agent = Agent(model=ScriptedBackend(["x"]))
    with pytest.raises(ConfigurationError, match="nothing to resume"):
        agent.run(None, session=SQLiteSession(db, "empty"))
    with pytest.raises(ConfigurationError, match="not both"):
        agent.run("hi", session=SQLiteSession(db, "x"), message_history=[UserMessage(content="a")])


def test_resume_streams_events_for_the_calls_it_runs(db: Path) -> None:
    session, calls = interrupted(db)

    @tool
    def record(n: int) -> int:
        """Record n."""
        return n

    agent = Agent(model=ScriptedBackend(["ok"]), tools=[record])

    async def collect() -> list[Any]:
        return [e async for e in agent.run_stream(None, session=session)]

    started = [e.call.id for e in asyncio.run(collect()) if isinstance(e, ToolCallStarted)]
    assert started == [calls[0].id, calls[2].id]


def test_each_parallel_result_is_journaled_the_moment_it_exists(db: Path) -> None:
    session = SQLiteSession(db, "p")
    seen: list[int] = []

    @tool
    async def fast() -> str:
        """Return at once."""
        return "fast"

    @tool
    async def slow() -> str:
        """Wait, then look at the journal."""
        await asyncio.sleep(0.05)
        seen.append(sum(isinstance(m, ToolMessage) for m in SQLiteSession(db, "p").load()))
        return "slow"

    backend = ScriptedBackend([[call("slow"), call("fast")], "done"])
    Agent(model=backend, tools=[fast, slow]).run("both", session=session)
    assert seen == [1]  # fast's result was in the file while slow was still running


def test_resume_also_works_from_a_message_history() -> None:
    pending = call("add", a=20, b=22)
    history = [UserMessage(content="add"), AssistantMessage(tool_calls=[pending])]
    backend = ScriptedBackend(["42"])
    result = Agent(model=backend, tools=[add]).run(None, message_history=history)
    assert result.output == "42"
    assert result.messages[-2] == ToolMessage(tool_call_id=pending.id, name="add", content="42")
    with pytest.raises(ConfigurationError, match="nothing to resume"):
        Agent(model=ScriptedBackend([])).run(None)

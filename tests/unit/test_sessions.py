"""Continuing and resuming runs from a session, through the agent (on SQLite; what every store does
is in tests/integration/test_session_stores.py, run on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
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
from agentkit.sessions import SQLiteSession, continuation
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


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


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


def test_a_new_prompt_on_an_interrupted_run_is_refused_saying_which_calls_are_unanswered(db: Path) -> None:
    session, calls = interrupted(db)  # one of the three results was journaled
    with pytest.raises(SessionError, match="interrupted") as refused:
        Agent(model=ScriptedBackend(["x"])).run("something else", session=session)
    message = str(refused.value)
    assert "with 2 of 3 tool call(s) unanswered" in message
    unanswered, answered = message.split("unanswered: ")[1].split("; answered: ")
    assert calls[0].id in unanswered and calls[2].id in unanswered and calls[1].id not in unanswered
    assert calls[1].id in answered and calls[0].id not in answered
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

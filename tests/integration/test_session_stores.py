"""The behaviour every session store shares, run against each (the ``store`` fixture: SQLite and a real
PostgreSQL server): the journal, fork/list/delete, damaged entries, the lease, and runs through the
agent. Processes and kill -9: test_session_durability.py. What only one store has: test_sqlite_files.py
and test_postgres_session.py."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    SessionBusyError,
    SessionError,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
    tool,
)
from agentkit.sessions import Session
from agentkit.sessions.journal import TOO_DEEP
from agentkit.testing import ScriptedBackend, call
from agentkit.tools.files import files_tools
from tests.session_stores import Store

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


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def test_messages_round_trip(store: Store) -> None:
    session = store.open("s1")
    assert isinstance(session, Session)
    for message in conversation():
        session.append(message)
    assert session.load() == conversation()
    assert len(session) == 6
    assert store.open("s1").load() == conversation()  # another connection sees the same


def test_what_pydantic_json_cannot_hold_round_trips_unchanged(store: Store) -> None:
    odd = ToolCall(
        name="f", arguments={"k\ud800": "v\udcff", "nan": math.nan, "inf": -math.inf, "deep": nested(250)}
    )
    messages = [
        AssistantMessage(content="a lone surrogate \ud800 and \x00 and 東京", tool_calls=[odd]),
        ToolMessage(tool_call_id=odd.id, name="f", content="bad\udcffname.txt"),
    ]
    session = store.open("odd")
    for message in messages:
        session.append(message)
    loaded = store.open("odd").load()
    assert loaded[0].content == messages[0].content
    assert loaded[1] == messages[1]
    arguments = loaded[0].tool_calls[0].arguments
    assert (
        arguments["k\ud800"] == "v\udcff" and math.isnan(arguments["nan"]) and arguments["inf"] == -math.inf
    )
    assert arguments["deep"] == nested(250)


def test_arguments_too_deep_for_json_are_journaled_as_a_visible_error(store: Store) -> None:
    deep = ToolCall(name="f", arguments=nested(5000), raw_arguments="[model text]")
    session = store.open("deep")
    session.append(AssistantMessage(tool_calls=[deep]))
    [journaled] = session.load()[0].tool_calls
    assert (journaled.id, journaled.name, journaled.arguments) == (deep.id, "f", {})
    assert journaled.arguments_error == TOO_DEEP and journaled.raw_arguments == "[model text]"


def test_results_journaled_as_they_finished_load_in_call_order_and_only_once(store: Store) -> None:
    messages = conversation()
    session = store.open("s")
    for message in [messages[0], messages[1], messages[2], messages[4], messages[3], messages[4]]:
        session.append(message)
    assert session.load() == messages[:5]


def test_fork_list_delete(store: Store) -> None:
    assert store.list() == []
    session = store.open("main", metadata={"user": "ann"})
    for message in conversation()[:2]:
        session.append(message)
    branch = session.fork("branch")
    branch.append(AssistantMessage(content="only in the branch"))
    assert session.load() == conversation()[:2]
    assert branch.load()[-1] == AssistantMessage(content="only in the branch")
    with pytest.raises(SessionError, match="already exists"):
        session.fork("branch")
    infos = {i.session_id: i for i in store.list()}
    assert (infos["main"].messages, infos["branch"].messages) == (2, 3)
    assert infos["branch"].metadata == {"user": "ann"}
    assert all(info.updated_at >= info.created_at for info in infos.values())
    branch.delete()
    branch.delete()  # deleting what is gone is not an error
    assert [i.session_id for i in store.list()] == ["main"]
    with pytest.raises(SessionError, match="no session 'branch'"):
        store.open("branch", create=False)
    with pytest.raises(SessionError, match="does not exist"):
        branch.append(UserMessage(content="into a deleted session"))


def test_a_corrupt_entry_and_a_newer_schema_are_clear_errors(store: Store) -> None:
    session = store.open("s")
    session.append(UserMessage(content="hi"))
    store.sql("UPDATE entries SET body = %s", ('{"role": "user"}',))
    with pytest.raises(SessionError, match=r"session 's' .*entry 1 is not a valid message"):
        session.load()
    store.sql("UPDATE entries SET body = %s", ("{not json",))
    with pytest.raises(SessionError, match="entry 1 is not a valid message: not valid JSON"):
        session.load()
    store.sql("UPDATE schema_version SET version = version + 1")
    with pytest.raises(SessionError, match="newer than this agentkit"):
        store.open("s")
    with pytest.raises(SessionError, match="newer than this agentkit"):
        store.list()


def test_a_table_dropped_behind_agentkits_back_is_a_session_error(store: Store) -> None:
    session = store.open("s")
    session.append(UserMessage(content="hi"))
    store.sql("DROP TABLE entries")
    with pytest.raises(SessionError, match=r"session 's' in .*(entries|table)"):
        session.load()
    with pytest.raises(SessionError, match=r"session 's' in .*(entries|table)"):
        session.append(UserMessage(content="more"))
    with pytest.raises(SessionError):
        store.list()


# --- the lease ---------------------------------------------------------------------------------------


def test_a_second_lease_is_refused_while_the_first_is_held(store: Store) -> None:
    first, second = store.open("s"), store.open("s")
    with first.lease("the first run"):
        busy = pytest.raises(SessionBusyError, match=r"in use by another run \(the first run\)")
        with busy as refused, second.lease("the second run"):
            pass
        assert refused.value.owner == "the first run" and refused.value.expires_in > 0
        with (
            pytest.raises(SessionBusyError, match="already leased through this session object"),
            first.lease(),
        ):
            pass
    with second.lease("the second run"):  # given back at the end of the first
        second.append(UserMessage(content="mine now"))
    assert len(first) == 1


def test_appends_and_deletes_from_outside_a_held_lease_are_refused(store: Store) -> None:
    holder, outsider = store.open("s"), store.open("s")
    with holder.lease("runner"):
        holder.append(UserMessage(content="turn 1"))
        with pytest.raises(SessionBusyError, match="runner"):
            outsider.append(UserMessage(content="interleaved"))
        with pytest.raises(SessionBusyError):
            outsider.delete()
        holder.append(UserMessage(content="turn 2"))
    outsider.append(UserMessage(content="after"))
    assert [m.content for m in holder.load()] == ["turn 1", "turn 2", "after"]


def test_a_held_lease_is_renewed_past_its_ttl(store: Store) -> None:
    holder, other = store.open("s", lease_ttl=0.6), store.open("s")
    with holder.lease("long run"):
        time.sleep(2.0)  # more than three ttls
        with pytest.raises(SessionBusyError), other.lease():
            pass
        holder.append(UserMessage(content="still ours"))


def test_a_lease_can_wait_for_the_holder_instead_of_failing(store: Store) -> None:
    holder, waiter = store.open("s"), store.open("s")
    order: list[str] = []
    entered = threading.Event()

    def hold() -> None:
        with holder.lease("first"):
            entered.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=hold)
    thread.start()
    entered.wait(10)
    with waiter.lease("second", wait=30):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


def test_threads_appending_to_one_session_through_the_lease_take_turns(store: Store) -> None:
    store.open("queue")
    names, count = [f"t{n}" for n in range(4)], 25

    def write(name: str) -> None:
        session = store.open("queue")
        with session.lease(name, wait=60):
            for i in range(count):
                session.append(UserMessage(content=f"{name} {i}"))

    threads = [threading.Thread(target=write, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    contents = [m.content for m in store.open("queue").load()]
    blocks = [contents[i : i + count] for i in range(0, len(contents), count)]
    assert sorted(block[0].split()[0] for block in blocks) == names
    assert all(block == [f"{block[0].split()[0]} {i}" for i in range(count)] for block in blocks)


# --- runs through the agent ---------------------------------------------------------------------------


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_runs_journal_everything_and_continue_the_conversation(store: Store) -> None:
    session = store.open("chat")
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
    assert store.open("chat").load() == second.messages


def test_a_second_run_of_a_session_in_progress_is_refused_and_the_session_stays_usable(store: Store) -> None:
    refused: list[BaseException] = []

    @tool
    def meanwhile() -> str:
        """While this run is in its tool, another runner tries the same session."""
        try:
            Agent(model=ScriptedBackend(["interloper"])).run("me too", session=store.open("shared"))
        except SessionBusyError as exc:
            refused.append(exc)
        return "ok"

    session = store.open("shared")
    first = Agent(model=ScriptedBackend([call("meanwhile"), "first done"]), tools=[meanwhile])
    assert first.run("go", session=session).output == "first done"
    assert len(refused) == 1 and "agentkit run, pid" in str(refused[0])
    # Nothing of the refused run reached the journal, and the next run continues normally.
    assert [m.content for m in session.load() if isinstance(m, UserMessage)] == ["go"]
    later = Agent(model=ScriptedBackend(["continued"])).run("and now", session=store.open("shared"))
    assert later.output == "continued"


def test_a_tool_result_with_a_non_utf8_file_name_is_journaled(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with open(bytes(root) + b"/bad\xffname.txt", "w") as handle:  # a name that is not UTF-8
        handle.write("x")
    session = store.open("files")
    backend = ScriptedBackend([call("list_files"), "listed"])
    result = Agent(model=backend, tools=files_tools(root)).run("list them", session=session)
    listing = result.messages[-2]
    assert isinstance(listing, ToolMessage) and "bad\udcffname.txt" in listing.content
    assert store.open("files").load() == result.messages


def test_assistant_text_with_a_lone_surrogate_is_journaled(store: Store) -> None:
    session = store.open("text")
    result = Agent(model=ScriptedBackend(["half a pair: \ud83d"])).run("say it", session=session)
    assert result.output == "half a pair: \ud83d"
    assert store.open("text").load() == result.messages
    resumed = Agent(model=ScriptedBackend([])).run(None, session=store.open("text"))
    assert resumed.output == "half a pair: \ud83d"

"""The local engine and the task runner on scripted models: failing tasks are results, retries resume
from the journal, concurrency is bounded, results stream as they finish, reruns skip finished tasks."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, AssistantMessage, ModelRequest, UserMessage, tool
from agentkit.batch import Batch, BatchResult, SQLiteJournal, Task, arun_batch, read_results, run_batch
from agentkit.batch.runner import MemorySession, TaskOptions, run_task
from agentkit.errors import BackendError, ConfigurationError
from agentkit.retry import RetryPolicy, TransientError
from agentkit.testing import ScriptedBackend, call

FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.0, jitter=0.0)


def prompt_of(request: ModelRequest) -> str:
    return next(m.content for m in request.messages if isinstance(m, UserMessage))


def steps_of(request: ModelRequest) -> int:
    return sum(isinstance(m, AssistantMessage) for m in request.messages)


class Recorder:
    """A tool with a side effect the tests count, and a model that calls it twice, then answers."""

    def __init__(self) -> None:
        self.effects: Counter[str] = Counter()
        self.lock = threading.Lock()

        @tool
        def record(key: str) -> str:
            """Record key."""
            with self.lock:
                self.effects[key] += 1
            return key

        self.tool = record

    def reply(self, request: ModelRequest) -> Any:
        prompt, step = prompt_of(request), steps_of(request)
        if "broken" in prompt:
            raise BackendError("the model rejected this prompt")
        if step < 2:
            return call("record", key=f"{prompt}#{step}")
        return f"answer to {prompt}"


def test_a_batch_of_500_with_failures_and_bad_lines_reports_each_and_finishes(tmp_path: Path) -> None:
    recorder = Recorder()
    agent = Agent(model=ScriptedBackend(recorder.reply), tools=[recorder.tool])
    items: list[Any] = [Task(str(i), f"task {i}" + (" broken" if i % 10 == 3 else "")) for i in range(500)]
    items[50:50] = [{"id": "no prompt"}, {"id": "1", "prompt": "duplicate id"}, {"prompt": "no id"}]
    problems: list[str] = []
    out = tmp_path / "results.jsonl"
    batch = Batch(
        agent,
        concurrency=16,
        out=str(out),
        journal=str(tmp_path / "j.db"),
        on_problem=lambda p: problems.append(str(p)),
    )
    results = list(batch.run(items))
    assert len(results) == 500 and len({r.task_id for r in results}) == 500
    failed = {r.task_id for r in results if not r.ok}
    assert failed == {str(i) for i in range(500) if i % 10 == 3}
    assert all(
        r.error is not None and r.error.type == "BackendError" and r.final for r in results if not r.ok
    )
    ok = next(r for r in results if r.task_id == "0")
    assert ok.output == "answer to task 0" and ok.steps == 3 and ok.stop_reason == "final_answer"
    assert ok.session == "batch:batch:0" and ok.duration > 0
    assert batch.stats.ok == 450 and batch.stats.failed == 50
    assert batch.stats.malformed == 2 and batch.stats.duplicates == 1
    assert problems == [
        "line 51: task 'no prompt': \"prompt\" is required: a non-empty string",
        "line 52: duplicate id '1' (first on line 2)",
        'line 53: "id" is required: a string or an integer',
    ]
    assert set(recorder.effects.values()) == {1} and len(recorder.effects) == 900
    assert Counter(r.task_id for r in read_results(out)) == Counter(str(i) for i in range(500))

    again = Batch(agent, concurrency=16, out=str(out), journal=str(tmp_path / "j.db"))
    assert list(again.run(items)) == []  # rerun: everything is already done
    assert again.stats.skipped == 500 and len(read_results(out)) == 500


async def test_concurrency_is_bounded_and_results_stream_before_the_batch_ends() -> None:
    running = 0
    peak = 0
    release = asyncio.Event()

    async def reply(request: ModelRequest) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if prompt_of(request) != "0":
            await release.wait()
        await asyncio.sleep(0)
        running -= 1
        return "done"

    agent = Agent(model=ScriptedBackend(reply))
    stream = arun_batch(agent, [Task(str(i), str(i)) for i in range(40)], concurrency=5)
    first = await stream.__anext__()
    assert first.task_id == "0"  # yielded while 4 others are still running
    release.set()
    rest = [r async for r in stream]
    assert len(rest) == 39 and peak == 5


async def test_a_transient_model_failure_is_retried_and_resumes_without_rerunning_tools() -> None:
    recorder = Recorder()
    failures = {"left": 2}

    def reply(request: ModelRequest) -> Any:
        if steps_of(request) == 1 and failures["left"]:
            failures["left"] -= 1
            raise TransientError("overloaded", status=503, retry_after=0.0)
        return recorder.reply(request)

    agent = Agent(model=ScriptedBackend(reply), tools=[recorder.tool])
    result = await run_task(agent, Task("t", "job"), None, TaskOptions(retry=FAST_RETRY))
    assert result.ok and result.attempts == 3 and result.resumed
    assert recorder.effects == Counter({"job#0": 1, "job#1": 1})  # the first call ran once, not three times


async def test_retries_that_run_out_leave_a_resumable_error_and_other_errors_are_final() -> None:
    def always_down(request: ModelRequest) -> Any:
        raise TransientError("still down", status=503)

    agent = Agent(model=ScriptedBackend(always_down))
    down = await run_task(agent, Task("t", "x"), None, TaskOptions(retry=FAST_RETRY))
    assert down.attempts == 3 and down.error is not None and down.error.resumable and not down.final

    def config(request: ModelRequest) -> Any:
        raise ConfigurationError("bad key")

    final = await run_task(
        Agent(model=ScriptedBackend(config)), Task("t", "x"), None, TaskOptions(retry=FAST_RETRY)
    )
    assert final.attempts == 1 and final.error == final.error.__class__(
        "ConfigurationError", "bad key", False
    )


async def test_a_limit_ends_the_task_with_its_partial_run() -> None:
    recorder = Recorder()
    agent = Agent(
        model=ScriptedBackend(lambda r: call("record", key="again")), tools=[recorder.tool], max_steps=3
    )
    result = await run_task(agent, Task("t", "loop"), None, TaskOptions())
    assert result.stop_reason == "max_steps" and result.steps == 3 and result.final
    assert result.error is not None and result.error.type == "MaxStepsExceeded"


async def test_messages_are_kept_only_when_asked() -> None:
    agent = Agent(model=ScriptedBackend(lambda r: "hi"))
    plain = await run_task(agent, Task("t", "x"), None, TaskOptions())
    kept = await run_task(agent, Task("t", "x"), None, TaskOptions(keep_messages=True))
    assert plain.messages is None
    assert kept.messages is not None and kept.messages[-1] == AssistantMessage(content="hi")
    assert kept.to_json(with_messages=True)["messages"][-1]["content"] == "hi"


def test_memory_session_keeps_one_result_per_call() -> None:
    from agentkit.messages import ToolMessage

    session = MemorySession("s")
    session.append(ToolMessage(tool_call_id="c1", name="t", content="first"))
    session.append(ToolMessage(tool_call_id="c1", name="t", content="second"))
    assert [m.content for m in session.load()] == ["first"]


async def test_a_killed_batch_resumes_each_task_from_the_sqlite_journal(tmp_path: Path) -> None:
    """The in-process half of resume: a task whose conversation was journaled up to a tool result goes
    on from there on the next run (the kill -9 tests do the same across processes)."""
    recorder = Recorder()
    journal = SQLiteJournal(tmp_path / "j.db", "b")
    session, resume = await journal.open(Task("t", "job"))
    assert not resume
    agent = Agent(model=ScriptedBackend(recorder.reply), tools=[recorder.tool], max_steps=1)
    with pytest.raises(Exception, match="max_steps"):
        await agent.arun("job", session=session)  # one step journaled, then "killed"
    await journal.release(Task("t", "job"), session)
    assert recorder.effects == Counter({"job#0": 1})
    agent = Agent(model=ScriptedBackend(recorder.reply), tools=[recorder.tool])
    result = await run_task(agent, Task("t", "job"), journal, TaskOptions())
    assert result.ok and result.resumed and recorder.effects == Counter({"job#0": 1, "job#1": 1})
    journal.close()


async def test_a_task_with_its_own_session_continues_that_conversation_once(tmp_path: Path) -> None:
    from agentkit.sessions import SQLiteSession

    db = tmp_path / "j.db"
    with SQLiteSession(db, "user-42") as earlier:
        Agent(model=ScriptedBackend(["Hello."])).run("Hi, I am Ada.", session=earlier)
    seen: list[list[str]] = []

    def reply(request: ModelRequest) -> str:
        seen.append([str(m.content) for m in request.messages if isinstance(m, UserMessage)])
        return "You are Ada."

    agent = Agent(model=ScriptedBackend(reply))
    journal = SQLiteJournal(db, "b")
    task = Task("t", "Who am I?", session="user-42")
    first = await run_task(agent, task, journal, TaskOptions())
    again = await run_task(agent, task, journal, TaskOptions())  # as a rerun would, had the output been lost
    assert first.ok and seen == [["Hi, I am Ada.", "Who am I?"]]
    assert again.ok and again.resumed and again.output == "You are Ada." and len(seen) == 1
    journal.close()


def test_the_sync_iterator_can_stop_early_and_the_batch_stops_with_it(tmp_path: Path) -> None:
    calls = 0

    def reply(request: ModelRequest) -> str:
        nonlocal calls
        calls += 1
        return "ok"

    agent = Agent(model=ScriptedBackend(reply))
    stream = run_batch(agent, [Task(str(i), "x") for i in range(10_000)], concurrency=2)
    taken = [next(stream) for _ in range(3)]
    stream.close()  # type: ignore[attr-defined]
    assert len(taken) == 3 and calls < 100


def test_an_agent_factory_is_called_once_for_the_local_engine() -> None:
    built = 0

    def make() -> Agent[Any, Any]:
        nonlocal built
        built += 1
        return Agent(model=ScriptedBackend(lambda r: "ok"))

    results = list(run_batch(make, ["a", "b", "c"], concurrency=2))
    assert built == 1 and sorted(r.task_id for r in results) == ["0", "1", "2"]


def test_a_factory_that_returns_something_else_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not an Agent"):
        list(run_batch(lambda: "nope", ["a"]))


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="concurrency"):
        Batch(Agent(model=ScriptedBackend(["x"])), concurrency=0)


def test_results_carry_metadata_through(tmp_path: Path) -> None:
    agent = Agent(model=ScriptedBackend(lambda r: "ok"))
    (result,) = run_batch(agent, [{"id": "m", "prompt": "x", "metadata": {"expected": 3}}])
    assert isinstance(result, BatchResult) and result.metadata == {"expected": 3}


async def test_tasks_are_pulled_from_the_source_only_as_fast_as_they_run() -> None:
    pulled = 0

    def source() -> Any:
        nonlocal pulled
        for i in range(1_000_000):  # a million tasks never sit in memory: they are pulled lazily
            pulled += 1
            yield Task(str(i), "x")

    async def reply(request: ModelRequest) -> str:
        await asyncio.sleep(0.001)
        return "ok"

    stream = arun_batch(Agent(model=ScriptedBackend(reply)), source(), concurrency=4)
    seen = [await stream.__anext__() for _ in range(20)]
    await stream.aclose()
    # At most: the results taken, those waiting in the engine's queue (4), the runs going on (4).
    assert len(seen) == 20 and pulled <= 20 + 4 + 4


async def test_a_run_killed_between_its_system_prompt_and_its_prompt_starts_over(tmp_path: Path) -> None:
    """The journal held only the system prompt: resuming would send the model no task at all."""
    from agentkit.messages import SystemMessage

    journal = SQLiteJournal(tmp_path / "j.db", "b")
    task = Task("t", "job")
    session, _ = await journal.open(task)
    session.append(SystemMessage(content="You are helpful."))
    await journal.release(task, session)
    recorder = Recorder()
    agent = Agent(model=ScriptedBackend(recorder.reply), tools=[recorder.tool])
    result = await run_task(agent, task, journal, TaskOptions())
    assert result.ok and result.output == "answer to job" and not result.resumed
    journal.close()

"""JSON-lines traces: they replay into exactly the run's messages and never hold a secret."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentkit import Agent, MaxStepsExceeded, tool
from agentkit.errors import ConfigurationError
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from agentkit.testing import ScriptedBackend, call
from agentkit.tracing import (
    REDACTED,
    JsonlTrace,
    RedactingFilter,
    Redactor,
    arun_observed,
    read_trace,
    redacted_messages,
    replay_messages,
)

SECRET = "sk-test-4f9c2a7e1b3d5f6a8c0e2b4d"


@tool
async def slow_echo(text: str, delay: float) -> str:
    """Echo text after a delay.

    Args:
        text: what to echo
        delay: seconds to wait
    """
    await asyncio.sleep(delay)
    return text


@tool
def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: why
    """
    raise RuntimeError(reason)


class Answer(BaseModel):
    city: str
    population: int


async def test_replay_equals_run_messages_with_parallel_tools_errors_and_output_retry(tmp_path: Path) -> None:
    backend = ScriptedBackend(
        [
            # The first call finishes last: tool messages must still be in call order.
            [call("slow_echo", text="first", delay=0.05), call("slow_echo", text="second", delay=0.0)],
            call("explode", reason="boom"),
            call("no_such_tool"),
            '{"city": "Paris"}',  # fails validation: population is missing
            '{"city": "Paris", "population": 2102650}',
        ]
    )
    agent = Agent(backend, tools=[slow_echo, explode], output_type=Answer)
    path = tmp_path / "run.jsonl"
    with JsonlTrace(path) as trace:
        result = await arun_observed(agent, "Where is the Louvre?", [trace])
    assert result.output == Answer(city="Paris", population=2102650)
    replayed = replay_messages(path)
    assert replayed == result.messages
    kinds = [json.loads(line)["type"] for line in path.read_text().splitlines()]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert "output_rejected" in kinds and "text_delta" in kinds
    finished = [json.loads(line) for line in path.read_text().splitlines()]
    errors = [r for r in finished if r["type"] == "tool_call_finished" and r["is_error"]]
    assert {r["error_type"] for r in errors} == {"ToolExecutionError", "UnknownToolError"}


async def test_replay_of_a_failed_run_equals_the_partial_result(tmp_path: Path) -> None:
    backend = ScriptedBackend([call("slow_echo", text="a", delay=0), call("slow_echo", text="b", delay=0)])
    agent = Agent(backend, tools=[slow_echo], max_steps=2)
    path = tmp_path / "failed.jsonl"
    with JsonlTrace(path) as trace, pytest.raises(MaxStepsExceeded) as caught:
        await arun_observed(agent, "loop", [trace])
    assert replay_messages(path) == caught.value.result.messages
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["type"] == "run_failed" and last["error_type"] == "MaxStepsExceeded"
    assert last["stop_reason"] == "max_steps"


async def test_several_runs_in_one_file_and_history(tmp_path: Path) -> None:
    backend = ScriptedBackend(["one", "two"])
    agent = Agent(backend)
    path = tmp_path / "chat.jsonl"
    with JsonlTrace(path) as trace:
        first = await arun_observed(agent, "hi", [trace])
        second = await arun_observed(agent, "again", [trace], message_history=first.messages)
    assert len(read_trace(path)) == 2
    assert replay_messages(path, 0) == first.messages
    assert replay_messages(path) == second.messages
    with pytest.raises(ConfigurationError, match="no run 5"):
        replay_messages(path, 5)


async def test_a_session_run_is_traced_from_what_the_session_holds(tmp_path: Path) -> None:
    from agentkit.sessions import SQLiteSession

    session = SQLiteSession(tmp_path / "chat.db", "s1")
    agent = Agent(ScriptedBackend([call("slow_echo", text="hi", delay=0), "one", "two"]), tools=[slow_echo])
    path = tmp_path / "session.jsonl"
    with JsonlTrace(path) as trace:
        await arun_observed(agent, "first", [trace], session=session)
        second = await arun_observed(agent, "second", [trace], session=session)
        # the second run starts from the whole first conversation plus the new prompt, as the session holds it
        assert replay_messages(path) == second.messages
        resumed = await arun_observed(
            agent, None, [trace], session=session
        )  # already answered: no model call
    assert resumed.output == "two"
    assert replay_messages(path) == second.messages
    assert [m.role for m in second.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]


async def test_no_secret_from_the_environment_reaches_the_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", SECRET)
    monkeypatch.setenv("DB_PASSWORD", "hunter2hunter2")
    backend = ScriptedBackend(
        [call("slow_echo", text=f"key={SECRET} pw=hunter2hunter2", delay=0), f"I used {SECRET}"]
    )
    agent = Agent(backend, tools=[slow_echo])
    path = tmp_path / "secret.jsonl"
    with JsonlTrace(path) as trace:
        await arun_observed(agent, f"use the key {SECRET}", [trace])
    text = path.read_text()
    assert SECRET not in text and "hunter2hunter2" not in text
    assert REDACTED in text
    assert all(json.loads(line) for line in text.splitlines())


async def test_replay_equals_the_run_exactly_when_nothing_was_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", SECRET)

    async def traced(text: str, name: str) -> tuple[list[Message], list[Message], JsonlTrace]:
        backend = ScriptedBackend([call("slow_echo", text=text, delay=0), f"Echoed: {text}"])
        agent = Agent(backend, tools=[slow_echo], system_prompt=f"Be brief. ({text})")
        with JsonlTrace(tmp_path / name) as trace:
            result = await arun_observed(agent, f"echo {text}", [trace])
        return result.messages, replay_messages(tmp_path / name), trace

    # Nothing to redact: the replay is the run's messages, equal field for field.
    run, replay, trace = await traced("plain", "plain.jsonl")
    assert replay == run == redacted_messages(run, trace.redactor)

    # A secret (from the environment) and a key-shaped string in the system prompt, the prompt, the
    # tool arguments, the tool result and the answer: the replay has [REDACTED] in each place.
    other_key = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
    run, replay, trace = await traced(f"{SECRET} and {other_key}", "secret.jsonl")
    assert replay != run
    assert replay == redacted_messages(run, trace.redactor)
    assert [m.role for m in replay] == [m.role for m in run]
    shown = f"{REDACTED} and {REDACTED}"
    system, user, asked, result, answer = replay
    assert isinstance(system, SystemMessage) and system.content == f"Be brief. ({shown})"
    assert isinstance(user, UserMessage) and user.content == f"echo {shown}"
    assert isinstance(asked, AssistantMessage)
    assert asked.tool_calls[0].arguments == {"text": shown, "delay": 0}
    assert isinstance(result, ToolMessage) and result.content == shown
    assert isinstance(answer, AssistantMessage) and answer.content == f"Echoed: {shown}"
    assert SECRET not in repr(replay) and other_key not in repr(replay)


def test_torn_last_line_is_ignored_and_bad_files_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    start = {"run": 1, "t": 0, "type": "run_started", "format": "agentkit.trace/1", "messages": []}
    path.write_text(json.dumps(start) + '\n{"run": 1, "ty')
    assert replay_messages(path) == []
    path.write_text('{"type": "step_started"}\n')
    with pytest.raises(ConfigurationError, match="does not start with a run_started"):
        read_trace(path)
    path.write_text(json.dumps({**start, "format": "other/9"}) + "\n")
    with pytest.raises(ConfigurationError, match="unsupported trace format"):
        read_trace(path)


def test_redactor_covers_env_names_and_key_shapes() -> None:
    redactor = Redactor(
        environ={
            "GITHUB_TOKEN": "abcdefgh12345",
            "HOME": "/home/someone",
            "X_SECRET": "short",
            "A_KEY": "k" * 9,
        }
    )
    assert redactor.text("token abcdefgh12345 here") == f"token {REDACTED} here"
    assert redactor.text("/home/someone") == "/home/someone"  # not a secret's name
    assert redactor.text("short") == "short"  # too short to redact safely
    assert redactor.text("Authorization: Bearer abc.def-ghi_jkl012") == f"Authorization: {REDACTED}"
    assert redactor.text("key sk-proj-ABCDEFGHIJKLMNOPqrst") == f"key {REDACTED}"
    assert redactor.value({"a": ["x kkkkkkkkk", 3]}) == {"a": [f"x {REDACTED}", 3]}


def test_logging_filter_redacts_messages_and_tracebacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("agentkit.test.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"bad key {SECRET}")
        except ValueError:
            logger.exception("calling with %s", SECRET)
    finally:
        logger.removeHandler(handler)
    assert records and SECRET not in records[0]
    assert "calling with [REDACTED]" in records[0] and "ValueError: bad key [REDACTED]" in records[0]

"""The run API beyond run/arun/run_stream: a synchronous event iterator, an event callback, a
wall-clock limit, a token limit that caps each reply, and clean tracebacks from the sync entry points."""

from __future__ import annotations

import asyncio
import time
import traceback
from pathlib import Path

import pytest

from agentkit import (
    Agent,
    AssistantMessage,
    BackendError,
    CancellationToken,
    DurationLimitExceeded,
    FinalOutput,
    ModelResponded,
    ModelResponse,
    ModelTextDelta,
    RunFailed,
    RunStarted,
    StepStarted,
    ToolCall,
    ToolCallFinished,
    ToolCallStarted,
    ToolMessage,
    Usage,
    UsageLimitExceeded,
    tool,
)
from agentkit.backends import ModelRequest, ModelSettings
from agentkit.sessions import SQLiteSession
from agentkit.testing import ScriptedBackend, call


@tool(inline=True)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_iter_yields_the_same_events_as_run_stream_in_order() -> None:
    backend = ScriptedBackend([call("add", a=1, b=2), "The sum is 3."])
    events = list(Agent(model=backend, tools=[add]).iter("add"))
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[-1] is FinalOutput
    assert kinds.count(StepStarted) == 2
    assert kinds.count(ToolCallStarted) == kinds.count(ToolCallFinished) == 1
    assert "".join(e.text for e in events if isinstance(e, ModelTextDelta)) == "The sum is 3."
    final = events[-1]
    assert isinstance(final, FinalOutput) and final.result.output == "The sum is 3."


def test_stopping_iter_early_leaves_a_session_that_resumes_where_it_stopped(tmp_path: Path) -> None:
    runs: list[int] = []

    @tool(inline=True)
    def count(n: int) -> int:
        """Count a call."""
        runs.append(n)
        return n

    backend = ScriptedBackend([call("count", n=1), "counted"])
    agent = Agent(model=backend, tools=[count])
    with SQLiteSession(tmp_path / "s.db", "one") as session:
        events = agent.iter("go", session=session)
        for event in events:
            if isinstance(event, ToolCallStarted):
                break
        events.close()  # what `break` and garbage collection do, made explicit: nothing keeps running
        assert runs == []
        result = agent.run(None, session=session)  # the lease was released; the call is still pending
    assert result.output == "counted" and runs == [1]


async def test_iter_works_inside_a_running_event_loop() -> None:
    backend = ScriptedBackend(["hello"])
    events = list(Agent(model=backend).iter("hi"))  # a sync caller inside async code (e.g. Jupyter)
    assert isinstance(events[-1], FinalOutput) and events[-1].result.output == "hello"


def test_on_event_sees_every_event_of_run_streamed() -> None:
    backend = ScriptedBackend([call("add", a=2, b=2), "four"])
    seen: list[object] = []
    result = Agent(model=backend, tools=[add]).run("2+2", on_event=seen.append)
    assert result.output == "four"
    assert isinstance(seen[0], RunStarted) and isinstance(seen[-1], FinalOutput)
    assert seen[-1].result is result  # type: ignore[attr-defined]
    assert any(isinstance(e, ModelTextDelta) for e in seen)  # given a callback, text is streamed
    assert sum(isinstance(e, ModelResponded) for e in seen) == 2


def test_max_duration_stops_a_slow_tool_with_a_typed_error_and_a_valid_conversation() -> None:
    @tool
    async def slow() -> str:
        """Sleep."""
        await asyncio.sleep(30)
        return "late"

    backend = ScriptedBackend([call("slow"), "unused"])
    begun = time.monotonic()
    with pytest.raises(DurationLimitExceeded, match=r"max_duration=0\.3") as info:
        Agent(model=backend, tools=[slow], max_duration=0.3).run("go")
    assert time.monotonic() - begun < 5
    result = info.value.result
    assert result.stop_reason == "max_duration"
    (message,) = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert message.is_error and "Cancelled" in message.content  # the call still got its one result


def test_max_duration_interrupts_a_slow_model_call_and_fires_a_failed_event() -> None:
    async def slow_model(request: ModelRequest) -> str:
        await asyncio.sleep(30)
        return "late"

    seen: list[object] = []
    with pytest.raises(DurationLimitExceeded):
        Agent(model=ScriptedBackend(slow_model), max_duration=0.2).run("go", on_event=seen.append)
    assert isinstance(seen[-1], RunFailed) and isinstance(seen[-1].error, DurationLimitExceeded)


def test_a_caller_token_still_cancels_a_run_with_a_duration_limit() -> None:
    token = CancellationToken()

    async def slow_model(request: ModelRequest) -> str:
        token.cancel()
        await asyncio.sleep(30)
        return "late"

    result = Agent(model=ScriptedBackend(slow_model), max_duration=60).run("go", cancel=token)
    assert result.stop_reason == "cancelled"


def test_the_token_limit_caps_each_reply_to_what_is_left() -> None:
    seen: list[int | None] = []

    def reply(request: ModelRequest) -> ModelResponse:
        seen.append(request.settings.max_tokens)
        return ModelResponse(
            message=AssistantMessage(tool_calls=[ToolCall(name="add", arguments={"a": 1, "b": 1})]),
            usage=Usage(input_tokens=100, output_tokens=50, requests=1),
        )

    agent = Agent(
        model=ScriptedBackend(reply),
        tools=[add],
        max_total_tokens=1_000,
        settings=ModelSettings(max_tokens=400),
        context=False,
    )
    with pytest.raises(UsageLimitExceeded):
        agent.run("go")
    assert seen[0] == 400  # the setting fits the budget at first
    assert all(cap is not None and cap <= 400 for cap in seen)
    assert seen[-1] is not None and seen[-1] < 400  # later replies are capped by what is left


def test_an_exact_counter_stops_a_run_before_a_request_that_cannot_fit() -> None:
    class Exact(ScriptedBackend):
        def count_tokens(self, messages: object, tools: object = ()) -> int:
            return 5_000  # every prompt is far over the budget

    backend = Exact(["never sent"])
    with pytest.raises(UsageLimitExceeded, match="it was not sent") as info:
        Agent(model=backend, max_total_tokens=1_000).run("go")
    assert backend.requests == []
    assert info.value.result.stop_reason == "usage_limit"


def test_errors_from_sync_run_carry_no_chained_event_loop_noise() -> None:
    backend = ScriptedBackend([BackendError("the server is down")])
    with pytest.raises(BackendError) as info:
        Agent(model=backend).run("hi")
    text = "".join(traceback.format_exception(info.value))
    assert "no running event loop" not in text
    assert "During handling of the above exception" not in text


def test_errors_from_iter_carry_no_chained_event_loop_noise() -> None:
    backend = ScriptedBackend([BackendError("the server is down")])
    with pytest.raises(BackendError) as info:
        list(Agent(model=backend).iter("hi"))
    assert "no running event loop" not in "".join(traceback.format_exception(info.value))

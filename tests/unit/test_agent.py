from __future__ import annotations

import asyncio
import threading
import time

import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    AssistantMessage,
    BackendError,
    CancellationToken,
    ConfigurationError,
    FinalOutput,
    MaxStepsExceeded,
    ModelRequest,
    ModelResponded,
    ModelResponse,
    ModelTextDelta,
    OutputRejected,
    OutputRetriesExhausted,
    RunContext,
    RunFailed,
    RunStarted,
    StepStarted,
    SystemMessage,
    ToolCall,
    ToolCallFinished,
    ToolCallStarted,
    ToolLoopDetected,
    ToolMessage,
    Usage,
    UsageLimitExceeded,
    UserMessage,
    tool,
)
from agentkit.testing import ScriptedBackend, call


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def tool_messages(messages: list) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def test_a_run_calls_a_tool_and_answers() -> None:
    backend = ScriptedBackend([call("add", a=2, b=3), "2 + 3 = 5"])
    result = Agent(model=backend, tools=[add]).run("What is 2 + 3?")
    assert (result.output, result.stop_reason, result.steps) == ("2 + 3 = 5", "final_answer", 2)
    backend.assert_used_up()
    second_request = backend.requests[1]
    assert isinstance(second_request.messages[0], SystemMessage)
    assert second_request.messages[1] == UserMessage(content="What is 2 + 3?")
    result_message = second_request.messages[-1]
    assert isinstance(result_message, ToolMessage) and result_message.content == "5"
    assert second_request.tools[0].name == "add"
    assert result.usage.requests == 2


def test_model_errors_go_back_to_the_model_and_the_run_goes_on() -> None:
    @tool
    def broken() -> None:
        raise RuntimeError("kaput")

    bad_json = ToolCall(name="add", raw_arguments="{a:", arguments_error="arguments are not valid JSON")
    backend = ScriptedBackend(
        [call("nope"), call("add", a="x", b=1), call("broken"), bad_json, "gave up politely"]
    )
    result = Agent(model=backend, tools=[add, broken]).run("go")
    assert result.output == "gave up politely"
    errors = [m.content for m in tool_messages(result.messages)]
    assert all(m.is_error for m in tool_messages(result.messages))
    assert "Unknown tool 'nope'. Available tools: add, broken." in errors[0]
    assert "parameter 'a'" in errors[1]
    assert errors[2] == "Tool 'broken' failed: RuntimeError: kaput"
    assert "not valid JSON" in errors[3]


def test_parallel_calls_run_concurrently_and_results_keep_call_order() -> None:
    running = 0
    peak = 0

    @tool
    async def wait(seconds: float, label: str) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(seconds)
        running -= 1
        return label

    calls = [
        call("wait", seconds=0.2, label="slow"),
        call("wait", seconds=0.01, label="fast"),
        call("wait", seconds=0.1, label="mid"),
    ]
    backend = ScriptedBackend([calls, "ok"])

    async def go() -> list:
        return [e async for e in Agent(model=backend, tools=[wait]).run_stream("go")]

    events = asyncio.run(go())
    assert peak == 3  # all three were in flight at once
    finished = [e.result.content for e in events if isinstance(e, ToolCallFinished)]
    assert finished == ["fast", "mid", "slow"]  # events as they complete
    final = events[-1]
    assert isinstance(final, FinalOutput)
    results = tool_messages(final.result.messages)
    assert [m.content for m in results] == ["slow", "fast", "mid"]  # messages in call order
    assert [m.tool_call_id for m in results] == [c.id for c in calls]


def test_the_parallel_cap_is_respected() -> None:
    running = 0
    peak = 0

    @tool
    async def work() -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return "ok"

    backend = ScriptedBackend([[call("work") for _ in range(6)], "done"])
    Agent(model=backend, tools=[work], max_parallel_tools=2).run("go")
    assert peak == 2


def test_run_stream_yields_typed_events_in_order() -> None:
    backend = ScriptedBackend([call("add", a=1, b=1), "the answer is two"])

    async def go() -> list:
        return [e async for e in Agent(model=backend, tools=[add]).run_stream("1+1")]

    events = asyncio.run(go())
    kinds = [type(e).__name__ for e in events]
    assert kinds[:5] == ["RunStarted", "StepStarted", "ModelResponded", "ToolCallStarted", "ToolCallFinished"]
    assert kinds[5] == "StepStarted"
    assert isinstance(events[0], RunStarted)
    assert [m.role for m in events[0].messages] == ["system", "user"]
    assert events[0].run_id == events[-1].result.run_id
    deltas = [e.text for e in events if isinstance(e, ModelTextDelta)]
    assert "".join(deltas) == "the answer is two" and len(deltas) == 4
    assert isinstance(events[-1], FinalOutput) and events[-1].output == "the answer is two"
    assert [e.step for e in events if isinstance(e, StepStarted)] == [1, 2]
    assert all(e.duration_s >= 0 for e in events if isinstance(e, ModelResponded | ToolCallFinished))
    assert any(isinstance(e, ToolCallStarted) and e.call.name == "add" for e in events)


def test_arun_and_run_inside_a_running_loop() -> None:
    async def go() -> tuple[str | None, str | None]:
        agent = Agent(model=ScriptedBackend(["async", "sync"]))
        first = await agent.arun("a")
        second = agent.run("b")  # a running loop is present: run() must not fail
        return first.output, second.output

    assert asyncio.run(go()) == ("async", "sync")


def test_max_steps_raises_with_the_partial_result() -> None:
    backend = ScriptedBackend(lambda req: call("add", a=1, b=1))
    with pytest.raises(MaxStepsExceeded, match="max_steps=3") as info:
        Agent(model=backend, tools=[add], max_steps=3).run("loop")
    result = info.value.result
    assert (result.stop_reason, result.steps, len(backend.requests)) == ("max_steps", 3, 3)
    assert len(tool_messages(result.messages)) == 3


def test_usage_limit_stops_before_the_next_request() -> None:
    def reply(req: ModelRequest) -> ModelResponse:
        return ModelResponse(
            message=AssistantMessage(tool_calls=[ToolCall(name="add", arguments={"a": 1, "b": 2})]),
            usage=Usage(input_tokens=60, output_tokens=10, requests=1),
        )

    backend = ScriptedBackend(reply)
    with pytest.raises(UsageLimitExceeded, match="140 tokens") as info:
        Agent(model=backend, tools=[add], max_total_tokens=100).run("go")
    assert info.value.result.stop_reason == "usage_limit"
    assert len(backend.requests) == 2
    assert info.value.result.usage.total_tokens == 140


def test_cancellation_from_another_thread_interrupts_a_running_tool() -> None:
    token = CancellationToken()
    tool_started = threading.Event()

    @tool
    async def forever() -> str:
        tool_started.set()
        await asyncio.sleep(60)
        return "never"

    def cancel_soon() -> None:
        tool_started.wait(5)
        token.cancel()

    threading.Thread(target=cancel_soon).start()
    backend = ScriptedBackend([call("forever")])
    started = time.perf_counter()
    result = Agent(model=backend, tools=[forever]).run("go", cancel=token)
    assert time.perf_counter() - started < 5
    assert result.stop_reason == "cancelled" and result.output is None
    # the call still has a result, so the conversation can be continued or resumed
    (cancelled,) = tool_messages(result.messages)
    assert cancelled.is_error and cancelled.content == "Cancelled before it finished."


def test_a_cancelled_token_stops_before_the_first_request() -> None:
    token = CancellationToken()
    token.cancel()
    backend = ScriptedBackend(["unused"])
    result = Agent(model=backend).run("go", cancel=token)
    assert result.stop_reason == "cancelled" and backend.requests == []


def test_the_loop_guard_stops_a_repeating_failing_call() -> None:
    backend = ScriptedBackend(lambda req: call("add", a="x", b=1))
    with pytest.raises(ToolLoopDetected, match="more than 2 times") as info:
        Agent(model=backend, tools=[add], max_repeated_failures=2, max_steps=50).run("go")
    assert len(backend.requests) == 3
    results = tool_messages(info.value.result.messages)
    assert "has now failed 2 times" in results[1].content


class Weather(BaseModel):
    city: str
    celsius: float


def test_output_type_is_validated_and_retried_with_the_errors() -> None:
    backend = ScriptedBackend(['{"city": "Oslo"}', 'Sure! ```json\n{"city": "Oslo", "celsius": -3.5}\n```'])
    agent = Agent(model=backend, output_type=Weather)
    assert "celsius" in agent.system_prompt  # the schema is in the system prompt
    assert backend.requests == [] and agent.output.schema is not None
    result = agent.run("weather?")
    assert result.output == Weather(city="Oslo", celsius=-3.5)
    retry_prompt = backend.requests[1].messages[-1]
    assert isinstance(retry_prompt, UserMessage) and "celsius" in retry_prompt.content
    assert backend.requests[0].output_schema == agent.output.schema


def test_output_retries_are_bounded() -> None:
    backend = ScriptedBackend(["not json", "still not", "nope"])

    async def go() -> list:
        events = []
        with pytest.raises(OutputRetriesExhausted) as info:
            async for event in Agent(model=backend, output_type=Weather, output_retries=2).run_stream("x"):
                events.append(event)
        assert info.value.result.stop_reason == "output_retries"
        return events

    events = asyncio.run(go())
    assert sum(isinstance(e, OutputRejected) for e in events) == 2
    assert isinstance(events[-1], RunFailed)


def test_an_empty_reply_is_sent_back_for_a_retry() -> None:
    backend = ScriptedBackend(["", "real answer"])
    assert Agent(model=backend).run("x").output == "real answer"


def test_message_history_continues_a_conversation() -> None:
    backend = ScriptedBackend(["first", "second"])
    agent = Agent(model=backend)
    first = agent.run("one")
    second = agent.run("two", message_history=first.messages)
    assert [type(m).__name__ for m in second.messages] == [
        "SystemMessage",
        "UserMessage",
        "AssistantMessage",
        "UserMessage",
        "AssistantMessage",
    ]
    assert list(backend.requests[1].messages[:3]) == first.messages


def test_deps_reach_tools_through_the_run_context() -> None:
    @tool
    def balance(ctx: RunContext[dict[str, int]], user: str) -> int:
        assert ctx.step == 1 and ctx.run_id
        return ctx.deps[user]

    backend = ScriptedBackend([call("balance", user="ada"), "done"])
    result = Agent(model=backend, tools=[balance]).run("?", deps={"ada": 42})
    assert tool_messages(result.messages)[0].content == "42"


def test_backend_errors_are_raised_after_a_failed_event() -> None:
    """A backend that fails with an exception of its own: the run raises a documented BackendError
    (naming the backend and the original, which is chained), after a RunFailed event carrying it."""
    backend = ScriptedBackend([ConnectionRefusedError("no server")])

    async def go() -> tuple[list, BaseException]:
        events = []
        with pytest.raises(
            BackendError, match="scripted failed unexpectedly: ConnectionRefusedError"
        ) as info:
            async for event in Agent(model=backend).run_stream("x"):
                events.append(event)
        return events, info.value

    events, error = asyncio.run(go())
    assert isinstance(error.__cause__, ConnectionRefusedError)
    assert isinstance(events[-1], RunFailed) and events[-1].error is error


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_steps": 0}, "max_steps must be a positive number"),
        ({"max_parallel_tools": 0}, "max_parallel_tools"),
        ({"tool_timeout": -1}, "tool_timeout"),
        ({"tool_choice": "subtract"}, "tool_choice='subtract'"),
        ({"model": "warp:drive"}, "unknown model string 'warp:drive'"),
        ({"model": 42}, "model must be a model string or a Backend"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs: dict, message: str) -> None:
    options = {"model": ScriptedBackend([]), "tools": [add], **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        Agent(**options)


def test_custom_system_prompt_and_tool_choice_reach_the_backend() -> None:
    backend = ScriptedBackend([call("add", a=1, b=2), "3"])
    Agent(model=backend, tools=[add], system_prompt="Be terse.", tool_choice="add").run("x")
    assert backend.requests[0].messages[0] == SystemMessage(content="Be terse.")
    assert backend.requests[0].tool_choice == "add"

"""Several agents in one run, on scripted backends: agents as tools, handoffs, one tree of usage,
events, budgets and sessions, and the errors a bad set-up gets."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    AssistantMessage,
    BackendError,
    Budget,
    CancellationToken,
    ConfigurationError,
    FinalOutput,
    HandedOff,
    HandoffLimitExceeded,
    MaxStepsExceeded,
    ModelResponse,
    RunStarted,
    SystemMessage,
    ToolCallFinished,
    ToolCallStarted,
    ToolDefinitionError,
    ToolMessage,
    Usage,
    tool,
)
from agentkit.backends import ModelRequest
from agentkit.multiagent import Handoff, without_tool_calls
from agentkit.sessions import SQLiteSession
from agentkit.testing import ScriptedBackend, call


def reply(text: str | None = None, *calls: Any, tokens: tuple[int, int] = (10, 5)) -> ModelResponse:
    return ModelResponse(
        message=AssistantMessage(content=text, tool_calls=list(calls)),
        usage=Usage(input_tokens=tokens[0], output_tokens=tokens[1], requests=1),
    )


def tool_messages(messages: list[Any]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


# -- agents as tools ------------------------------------------------------------------------------


def test_a_child_agent_answers_as_a_tool_and_its_usage_counts_in_the_parents_result() -> None:
    child_backend = ScriptedBackend([reply("Paris is the capital.", tokens=(30, 7))])
    researcher = Agent(child_backend, name="researcher", description="Finds facts.")
    parent_backend = ScriptedBackend(
        [
            reply(None, call("researcher", task="What is the capital of France?"), tokens=(50, 9)),
            reply("It is Paris.", tokens=(70, 4)),
        ]
    )
    triage = Agent(parent_backend, name="triage", tools=[researcher.as_tool()])
    result = triage.run("Capital of France?")
    assert result.output == "It is Paris."
    (answer,) = tool_messages(result.messages)
    assert answer.content == "Paris is the capital." and not answer.is_error
    assert child_backend.requests[0].messages[-1].content == "What is the capital of France?"
    assert result.usage_by_agent == {
        "triage": Usage(input_tokens=120, output_tokens=13, requests=2),
        "triage/researcher": Usage(input_tokens=30, output_tokens=7, requests=1),
    }
    assert result.usage == Usage(input_tokens=150, output_tokens=20, requests=3)
    assert result.agent == "triage"


def test_a_child_with_a_typed_input_and_output() -> None:
    class Lookup(BaseModel):
        city: str
        units: str = "metric"

    class Weather(BaseModel):
        city: str
        degrees: float

    child_backend = ScriptedBackend(['{"city": "Oslo", "degrees": -3.5}'])
    forecaster = Agent(child_backend, name="forecaster", description="Weather.", output_type=Weather)
    made = forecaster.as_tool(input_type=Lookup)
    assert made.spec().parameters["required"] == ["city"]
    parent = Agent(ScriptedBackend([call("forecaster", city="Oslo"), "Cold."]), tools=[made])
    result = parent.run("Oslo?")
    assert tool_messages(result.messages)[0].content == '{"city":"Oslo","degrees":-3.5}'
    assert child_backend.requests[0].messages[-1].content == '{"city":"Oslo","units":"metric"}'


def test_child_events_arrive_in_the_parents_stream_with_their_paths() -> None:
    researcher = Agent(ScriptedBackend(["found it"]), name="researcher", description="Finds.")
    triage = Agent(
        ScriptedBackend([call("researcher", task="look"), "done"]),
        name="triage",
        tools=[researcher.as_tool()],
    )
    events = list(triage.iter("go"))
    paths = {e.path for e in events}
    assert paths == {"triage", "triage/researcher"}
    child_start = next(e for e in events if isinstance(e, RunStarted) and e.path == "triage/researcher")
    parent_start = events[0]
    assert isinstance(parent_start, RunStarted) and parent_start.path == "triage"
    call_started = next(e for e in events if isinstance(e, ToolCallStarted))
    assert (child_start.parent_run_id, child_start.parent_call_id) == (
        parent_start.run_id,
        call_started.call.id,
    )
    # the child's events sit between the parent's start and end of that call
    first_child = events.index(child_start)
    call_finished = next(i for i, e in enumerate(events) if isinstance(e, ToolCallFinished))
    assert events.index(call_started) < first_child < call_finished
    finals = [e for e in events if isinstance(e, FinalOutput)]
    assert [f.path for f in finals] == ["triage/researcher", "triage"]
    assert finals[-1].result.output == "done"


def test_a_child_that_hits_its_own_limit_is_a_tool_error_and_the_parent_goes_on() -> None:
    @tool(inline=True)
    def spin() -> str:
        """Spin."""
        return "again"

    looping = ScriptedBackend(lambda request: call("spin"))
    child = Agent(looping, name="worker", description="Works.", tools=[spin], max_steps=3)
    parent = Agent(
        ScriptedBackend([call("worker", task="spin"), "The worker gave up; here is my answer."]),
        tools=[child.as_tool()],
    )
    result = parent.run("go")
    assert result.output == "The worker gave up; here is my answer."
    (failed,) = tool_messages(result.messages)
    assert failed.is_error and "worker" in failed.content and "MaxStepsExceeded" in failed.content
    assert result.usage_by_agent["agent/worker"].requests == 3


def test_a_child_whose_backend_fails_is_a_tool_error_for_the_parent() -> None:
    child = Agent(
        ScriptedBackend([BackendError("model server unreachable")]), name="remote", description="R."
    )
    parent = Agent(ScriptedBackend([call("remote", task="x"), "fine without it"]), tools=[child.as_tool()])
    result = parent.run("go")
    (failed,) = tool_messages(result.messages)
    assert failed.is_error and "model server unreachable" in failed.content
    assert result.output == "fine without it"


def test_several_children_run_at_once_within_max_parallel_tools() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    async def slow_answer(request: ModelRequest) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        await asyncio.sleep(0.2)
        with lock:
            running -= 1
        return "part done"

    workers = [
        Agent(ScriptedBackend(slow_answer), name=f"w{i}", description="Does a part.").as_tool()
        for i in range(4)
    ]
    parent = Agent(
        ScriptedBackend([[call(f"w{i}", task="part") for i in range(4)], "all done"]),
        tools=workers,
        max_parallel_tools=2,
    )
    result = parent.run("go")
    assert (
        result.output == "all done"
        and [m.content for m in tool_messages(result.messages)] == ["part done"] * 4
    )
    assert most == 2


def test_cancelling_the_parent_cancels_the_childs_tool_and_every_call_keeps_one_result(
    tmp_path: Path,
) -> None:
    token = CancellationToken()
    started, cancelled = threading.Event(), threading.Event()

    @tool
    async def slow() -> str:
        """Slow."""
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    child = Agent(ScriptedBackend([call("slow"), "unused"]), name="child", description="C.", tools=[slow])
    parent = Agent(ScriptedBackend([call("child", task="x"), "unused"]), tools=[child.as_tool()])

    def on_event(event: Any) -> None:
        if isinstance(event, ToolCallStarted) and event.path == "agent/child":
            threading.Timer(0.2, token.cancel).start()

    with SQLiteSession(tmp_path / "s.db", "run") as session:
        result = parent.run("go", cancel=token, on_event=on_event, session=session)
        assert result.stop_reason == "cancelled" and started.is_set() and cancelled.is_set()
        (parent_result,) = tool_messages(result.messages)
        assert parent_result.is_error and "Cancelled" in parent_result.content
        with session.child(parent_result.tool_call_id) as child_session:
            journaled = child_session.load()
    child_calls = [c for m in journaled if isinstance(m, AssistantMessage) for c in m.tool_calls]
    child_results = tool_messages(journaled)
    assert [r.tool_call_id for r in child_results] == [c.id for c in child_calls]  # one result per call
    assert child_results[0].is_error and "Cancelled" in child_results[0].content


def test_a_budget_caps_the_whole_tree() -> None:
    child = Agent(ScriptedBackend(lambda r: "child answer"), name="child", description="C.")
    parent_backend = ScriptedBackend(lambda r: call("child", task="again"))
    parent = Agent(parent_backend, tools=[child.as_tool()], budget=Budget(max_steps=5), max_steps=50)
    with pytest.raises(MaxStepsExceeded, match="budget's max_steps=5") as info:
        parent.run("go")
    by_agent = info.value.result.usage_by_agent
    assert sum(u.requests for u in by_agent.values()) == 5
    assert by_agent["agent"].requests + by_agent["agent/child"].requests == 5


def test_agents_that_call_each_other_in_a_cycle_get_a_clear_tool_error() -> None:
    a_backend = ScriptedBackend(lambda r: call("b", task="ask a") if len(r.messages) == 2 else "a done")
    b_backend = ScriptedBackend(lambda r: call("a", task="ask b") if len(r.messages) == 2 else "b done")
    a = Agent(a_backend, name="a", description="A.")
    b = Agent(b_backend, name="b", description="B.", tools=[a.as_tool()])
    a.registry.register(b.as_tool())  # registered after both exist: the only way to make a cycle
    result = a.run("start")
    assert result.output == "a done"
    inner = [m for r in b_backend.requests for m in r.messages if isinstance(m, ToolMessage)]
    assert inner and inner[0].is_error and "cycle (a/b/a)" in inner[0].content


# -- handoffs -------------------------------------------------------------------------------------


def test_a_handoff_passes_the_conversation_to_the_target_which_answers() -> None:
    @tool(inline=True)
    def refund(order: str) -> str:
        """Refund an order."""
        return f"refunded {order}"

    billing_backend = ScriptedBackend([call("refund", order="A1"), "Your order A1 is refunded."])
    billing = Agent(
        billing_backend,
        name="billing",
        description="Handles refunds.",
        system_prompt="You are billing.",
        tools=[refund],
    )
    triage_backend = ScriptedBackend([call("transfer_to_billing", reason="refund")])
    triage = Agent(triage_backend, name="triage", system_prompt="You are triage.", handoffs=[billing])
    assert "transfer_to_billing" in [t.name for t in triage_backend.requests or triage.registry.specs()]
    events = list(triage.iter("Refund order A1"))
    result = next(e for e in events if isinstance(e, FinalOutput) and e.path == "billing").result
    assert result.output == "Your order A1 is refunded." and result.agent == "billing"
    (handed,) = [e for e in events if isinstance(e, HandedOff)]
    assert (handed.source, handed.target) == ("triage", "billing")
    first = billing_backend.requests[0]
    assert first.messages[0] == SystemMessage(content=billing.system_prompt)
    assert [t.name for t in first.tools] == ["refund"]
    assert first.messages[1].content == "Refund order A1"
    assert result.messages[0].content == triage.system_prompt  # the history itself is unchanged
    assert set(result.usage_by_agent) == {"triage", "billing"}


def test_an_input_filter_chooses_what_the_target_sees() -> None:
    @tool(inline=True)
    def lookup() -> str:
        """Look up."""
        return "data"

    target_backend = ScriptedBackend(["ok"])
    target = Agent(target_backend, name="clean", description="Starts clean.")
    source = Agent(
        ScriptedBackend([call("lookup"), call("transfer_to_clean")]),
        tools=[lookup],
        handoffs=[Handoff(target, input_filter=without_tool_calls)],
    )
    source.run("hello")
    seen = target_backend.requests[0].messages
    assert [type(m).__name__ for m in seen] == ["SystemMessage", "UserMessage"]


def test_handoff_ping_pong_is_stopped_by_the_cap() -> None:
    ping = Agent(ScriptedBackend(lambda r: call("transfer_to_pong")), name="ping", description="Ping.")
    pong = Agent(
        ScriptedBackend(lambda r: call("transfer_to_ping")), name="pong", description="Pong.", handoffs=[ping]
    )
    ping.add_handoffs(pong)  # agents that hand back and forth
    assert "transfer_to_pong" in ping.system_prompt
    runner = Agent(ScriptedBackend([call("transfer_to_ping")]), name="start", handoffs=[ping], max_handoffs=4)
    with pytest.raises(HandoffLimitExceeded, match="max_handoffs=4") as info:
        runner.run("go")
    assert info.value.result.stop_reason == "max_handoffs"


def test_agents_that_take_the_conversation_back_count_only_what_is_new(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ping-pong of handoffs stays linear: an agent that gets the conversation back goes on with the
    context window it had, instead of counting the whole history again at every handoff."""
    from agentkit.backends.counting import EstimateCounter

    counted = 0
    count_message = EstimateCounter.count_message

    def counting(self: EstimateCounter, message: Any) -> int:
        nonlocal counted
        counted += 1
        return count_message(self, message)

    monkeypatch.setattr(EstimateCounter, "count_message", counting)
    turns = iter(range(60))

    def bounce(other: str) -> Any:
        return lambda request: call(f"transfer_to_{other}") if next(turns) < 59 else "done"

    ping = Agent(
        ScriptedBackend(bounce("pong")), name="ping", description="Ping.", max_handoffs=100, max_steps=80
    )
    pong = Agent(
        ScriptedBackend(bounce("ping")), name="pong", description="Pong.", handoffs=[ping], max_steps=80
    )
    ping.add_handoffs(pong)
    result = ping.run("go")
    assert result.output == "done" and result.steps == 60
    # 60 steps add about 120 messages; counting each once per agent is ~240, recounting the history at
    # every handoff would be ~3,600.
    assert counted < 4 * len(result.messages), counted


def test_two_transfers_in_one_reply_hand_off_once() -> None:
    a = Agent(ScriptedBackend(["from a"]), name="a", description="A.")
    b = Agent(ScriptedBackend(["from b"]), name="b", description="B.")
    start = Agent(ScriptedBackend([[call("transfer_to_a"), call("transfer_to_b")]]), handoffs=[a, b])
    result = start.run("go")
    assert result.output == "from a" and result.agent == "a"
    first, second = tool_messages(result.messages)
    assert not first.is_error and second.is_error and "Only one transfer per reply" in second.content


def test_a_resumed_conversation_goes_on_with_the_agent_it_was_handed_to(tmp_path: Path) -> None:
    billing_backend = ScriptedBackend(["billing here", "billing again"])
    billing = Agent(billing_backend, name="billing", description="Billing.", system_prompt="You are billing.")
    triage = Agent(ScriptedBackend([call("transfer_to_billing")]), name="triage", handoffs=[billing])
    with SQLiteSession(tmp_path / "s.db", "chat") as session:
        assert triage.run("refund please", session=session).output == "billing here"
        later = triage.run("and my invoice?", session=session)
    assert later.output == "billing again" and later.agent == "billing"
    assert billing_backend.requests[1].messages[0].content == "You are billing."


# -- bad set-ups ----------------------------------------------------------------------------------


def test_two_handoffs_or_tools_with_one_name_are_refused_when_built() -> None:
    billing = Agent(ScriptedBackend([]), name="billing", description="B.")
    other_billing = Agent(ScriptedBackend([]), name="billing", description="Another.")
    with pytest.raises(ToolDefinitionError, match="transfer_to_billing"):
        Agent(ScriptedBackend([]), handoffs=[billing, other_billing])
    with pytest.raises(ToolDefinitionError, match="'billing' is already registered"):
        Agent(ScriptedBackend([]), tools=[billing.as_tool(), other_billing.as_tool()])


def test_bad_names_handoffs_and_descriptions_are_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="invalid agent name 'two words'"):
        Agent(ScriptedBackend([]), name="two words")
    with pytest.raises(ConfigurationError, match="handoffs must be Agents or Handoffs, got str"):
        Agent(ScriptedBackend([]), handoffs=["billing"])  # type: ignore[list-item]
    with pytest.raises(ToolDefinitionError, match="has no description"):
        Agent(ScriptedBackend([]), name="quiet").as_tool()


def test_an_unknown_transfer_is_an_error_the_model_can_fix() -> None:
    billing = Agent(ScriptedBackend(["billing"]), name="billing", description="B.")
    backend = ScriptedBackend([call("transfer_to_sales"), call("transfer_to_billing")])
    result = Agent(backend, handoffs=[billing]).run("go")
    first = tool_messages(result.messages)[0]
    assert first.is_error and "transfer_to_billing" in first.content  # it is told what exists
    assert result.output == "billing"

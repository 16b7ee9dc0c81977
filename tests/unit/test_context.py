"""Context management: counters, the window size table, truncation, the default policy's choices,
summaries, custom policies and the errors that keep a bad request from being sent."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import (
    Agent,
    AssistantMessage,
    ConfigurationError,
    ContextOverflowError,
    ModelResponse,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from agentkit.backends.openai import OpenAIBackend, OpenAICounter
from agentkit.backends.openai.sizes import known_context_window
from agentkit.context import (
    BackendCounter,
    ContextConfig,
    ContextWindow,
    EstimateCounter,
    pairing_problems,
    truncate_middle,
)
from agentkit.testing import ScriptedBackend, call
from agentkit.tool_spec import ToolSpec
from tests.memory_helpers import emit, is_summary_request, text


def FakeOpenAI(model: str, **options: Any) -> OpenAIBackend:
    """An OpenAI-compatible backend for ``model``; nothing here sends a request."""
    return OpenAIBackend(model, base_url="http://127.0.0.1:9/v1", **options)


def counter_for(backend: Any) -> Any:
    return backend.token_counter()


# -- counters -----------------------------------------------------------------------------------


def test_openai_models_get_exact_bpe_counts() -> None:
    import bpe_openai

    counter = counter_for(FakeOpenAI("gpt-4o-mini"))
    assert isinstance(counter, OpenAICounter) and counter.exact and counter.scale == 1.0
    assert counter.encoding_name == "o200k_base"
    sample = "Hello, 東京! def f(x): return x ** 2"
    assert counter.count_text(sample) == len(bpe_openai.get_encoding("o200k_base").encode_ordinary(sample))
    assert counter_for(FakeOpenAI("gpt-4")).encoding_name == "cl100k_base"  # type: ignore[attr-defined]


def test_openai_counter_handles_text_beyond_the_encoders_chunk_limit() -> None:
    counter = counter_for(FakeOpenAI("gpt-4o"))
    piece = text(100_000, 5)
    whole = counter.count_text(piece * 5)  # 500,000 characters: more tokens than one encode call allows
    assert abs(whole - 5 * counter.count_text(piece)) <= 10


def test_other_models_behind_openai_apis_are_estimated_with_a_margin_then_calibrated() -> None:
    counter = counter_for(FakeOpenAI("qwen2.5-7b-instruct"))
    assert isinstance(counter, OpenAICounter) and not counter.exact and counter.scale == 1.3
    counter.observe(estimated=1000, actual=1200)
    assert counter.scale == pytest.approx(1.2 * 1.1)
    counter.observe(estimated=1000, actual=900)  # a lower ratio never loosens below the worst seen
    assert counter.scale == pytest.approx(1.2 * 1.1)


def test_backends_choose_their_counter() -> None:
    assert isinstance(counter_for(ScriptedBackend(["x"])), EstimateCounter)

    class Tokenizing(ScriptedBackend):
        def count_tokens(self, messages: Any, tools: Any = ()) -> int:
            return sum(len((m.content or "").split()) + 2 for m in messages)

    assert isinstance(counter_for(Tokenizing(["x"])), BackendCounter)
    own = EstimateCounter(bytes_per_token=2)

    class Offering(ScriptedBackend):
        def token_counter(self) -> EstimateCounter:
            return own

    assert counter_for(Offering(["x"])) is own


def test_backend_counter_measures_what_each_message_adds() -> None:
    class Words(ScriptedBackend):
        def count_tokens(self, messages: Any, tools: Any = ()) -> int:
            return 3 + sum(2 + len((m.content or "").split()) for m in messages) + 5 * len(tools)

    counter = BackendCounter(Words(["x"]))
    assert counter.count_message(SystemMessage(content="a b c")) == 3 + 2 + 3
    assert counter.count_message(UserMessage(content="one two")) == 4
    assert counter.count_message(ToolMessage(tool_call_id="c", name="t", content="x y z")) == 5
    assert counter.count_tools([ToolSpec("a", "", {}), ToolSpec("b", "", {})]) == 10
    assert counter.count_text("four words in here") == 4


def test_window_sizes_come_from_the_user_the_backend_or_the_table() -> None:
    assert known_context_window("gpt-4o-mini-2024-07-18") == 128_000
    assert known_context_window("gpt-4-0613") == 8_192
    assert known_context_window("my-llama") is None
    backend = FakeOpenAI("gpt-4o", context_window=8192)
    assert ContextWindow(ContextConfig(context_window=1000), backend).window == 1000
    assert ContextWindow(ContextConfig(), backend).window == 8192
    assert FakeOpenAI("gpt-4.1-mini").context_window == 1_047_576
    assert FakeOpenAI("unknown").context_window == 8192

    no_window = ScriptedBackend(["x"], context_window=0)
    with pytest.raises(ConfigurationError, match="reports no usable context window"):
        ContextWindow(ContextConfig(), no_window)


@pytest.mark.parametrize(
    "kwargs",
    [{"context_window": 0}, {"reserve_tokens": -1}, {"summary_tokens": 0}, {"tool_limits": {"emit": 0}}],
)
def test_bad_context_settings_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ContextConfig(**kwargs)


def test_a_window_too_small_for_the_reserve_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no room"):
        ContextWindow(ContextConfig(context_window=300, reserve_tokens=300), ScriptedBackend(["x"]))


# -- truncation -----------------------------------------------------------------------------------


def test_truncation_keeps_head_and_tail_and_says_how_much_was_cut() -> None:
    counter = EstimateCounter()
    original = "HEAD " + text(30_000, 7) + " TAIL"
    cut = truncate_middle(original, 500, counter.count_text)
    assert counter.count_text(cut) <= 500
    assert cut.startswith("HEAD ") and cut.endswith(" TAIL")
    found = re.search(r"\[\.\.\. (\d+) characters \((\d+) lines\) cut from the middle", cut)
    assert found is not None
    assert len(cut) - len(found.group(0)) < len(original)
    kept = len(original) - int(found.group(1))
    assert kept == len(cut) - len(cut[cut.index("\n[...") : cut.index("...]\n") + 5])
    assert truncate_middle("short", 500, counter.count_text) == "short"


def test_a_text_too_short_to_exceed_the_limit_is_not_counted() -> None:
    counted: list[str] = []

    def count(piece: str) -> int:  # a BackendCounter's count_text renders a template: worth skipping
        counted.append(piece)
        return len(piece)

    assert truncate_middle("x" * 24, 100, count) == "x" * 24  # 4 tokens a character at most: fits
    assert counted == []
    assert truncate_middle("x" * 25, 100, count) == "x" * 25  # might not fit: counted, and fits
    assert counted == ["x" * 25]


@settings(max_examples=80)
@given(size=st.integers(0, 60_000), limit=st.integers(1, 3_000), seed=st.integers(0, 9))
def test_truncation_always_fits_its_limit(size: int, limit: int, seed: int) -> None:
    counter = counter_for(FakeOpenAI("gpt-4o"))
    original = text(size, seed)
    cut = truncate_middle(original, limit, counter.count_text)
    assert counter.count_text(cut) <= limit
    if counter.count_text(original) <= limit:
        assert cut == original


# -- the default policy, through the agent -------------------------------------------------------------


def steps_agent(n: int, config: ContextConfig, size: int = 1500) -> tuple[Agent[Any, Any], ScriptedBackend]:
    script: list[Any] = [call("emit", n=size, seed=i) for i in range(n)] + ["done"]
    backend = ScriptedBackend(script)
    return Agent(model=backend, tools=[emit], context=config, max_steps=n + 1), backend


def test_whole_units_are_evicted_oldest_first_and_the_history_stays_whole() -> None:
    agent, backend = steps_agent(12, ContextConfig(context_window=4000, reserve_tokens=500))
    result = agent.run("Collect the outputs.")
    assert result.output == "done"
    calls = [m.tool_calls[0].id for m in result.messages if isinstance(m, AssistantMessage) and m.tool_calls]
    assert len(calls) == 12 and sum(isinstance(m, ToolMessage) for m in result.messages) == 12
    last = backend.requests[-1].messages
    assert isinstance(last[0], SystemMessage) and last[1] == UserMessage(content="Collect the outputs.")
    kept = [m.tool_calls[0].id for m in last if isinstance(m, AssistantMessage) and m.tool_calls]
    assert 0 < len(kept) < 12 and kept == calls[-len(kept) :]  # a suffix: the oldest went first
    assert pairing_problems(last) == []
    assert last[-1] == result.messages[-2]  # the latest turn is always sent


def test_eviction_goes_below_the_limit_so_the_prefix_stays_stable_for_a_while() -> None:
    agent, backend = steps_agent(20, ContextConfig(context_window=4000, reserve_tokens=500), size=600)
    agent.run("Go.")
    firsts = [r.messages[2] for r in backend.requests[1:]]  # what follows the system prompt and the task
    changes = sum(a is not b for a, b in itertools.pairwise(firsts))
    evictions = sum(
        len(b.messages) < len(a.messages)
        for a, b in zip(backend.requests, backend.requests[1:], strict=False)
    )
    assert evictions >= 1
    assert changes <= 3  # not a sliding window that shifts every step once full (low_water=1.0: 7)


def test_an_oversized_tool_result_is_cut_in_the_request_only() -> None:
    config = ContextConfig(context_window=8000, tool_limits={"emit": 60})
    agent, backend = steps_agent(1, config, size=5000)
    result = agent.run("Read it.")
    sent = backend.requests[1].messages[-1]
    assert isinstance(sent, ToolMessage) and "cut from the middle" in sent.content
    assert EstimateCounter().count_text(sent.content) <= 60
    kept = result.messages[3]
    assert isinstance(kept, ToolMessage) and len(kept.content) == 5000


def test_a_request_that_cannot_fit_raises_and_is_never_sent() -> None:
    backend = ScriptedBackend(["never"])
    agent = Agent(model=backend, context=ContextConfig(context_window=1000, reserve_tokens=200))
    with pytest.raises(ContextOverflowError, match="budget is 800") as caught:
        agent.run(text(10_000))
    assert caught.value.needed > caught.value.budget == 800
    assert backend.requests == []


def test_a_tool_result_without_its_call_in_the_history_is_rejected() -> None:
    agent = Agent(model=ScriptedBackend(["x"]), context=True)
    history = [UserMessage(content="hi"), ToolMessage(tool_call_id="call_1", name="emit", content="x")]
    with pytest.raises(ConfigurationError, match="no matching call"):
        agent.run("again", message_history=history)


def test_context_management_is_on_by_default_and_can_be_switched_off() -> None:
    on = ScriptedBackend([call("emit", n=50_000), "ok"])
    Agent(model=on, tools=[emit]).run("Go.")
    assert len(on.requests[1].messages[-1].content) < 50_000  # cut to fit the 8k window

    off = ScriptedBackend([call("emit", n=50_000), "ok"])
    Agent(model=off, tools=[emit], context=False).run("Go.")
    assert len(off.requests[1].messages[-1].content) == 50_000


def test_summaries_are_running_incremental_and_charged_to_the_run() -> None:
    summaries: list[str] = []

    def model(request: Any) -> Any:
        if is_summary_request(request):
            summaries.append(request.messages[1].content)
            return f"SUMMARY-{len(summaries)}"
        steps = sum(isinstance(m, AssistantMessage) for m in request.messages)
        return call("emit", n=1500, seed=len(summaries) * 100 + steps) if len(summaries) < 3 else "done"

    backend = ScriptedBackend(model)
    config = ContextConfig(context_window=4000, reserve_tokens=500, summarize=True, summary_tokens=100)
    agent = Agent(model=backend, tools=[emit], context=config, max_steps=60)
    result = agent.run("Go.")
    assert result.output == "done" and len(summaries) == 3
    assert "SUMMARY-1" not in summaries[0] and "SUMMARY-1" in summaries[1] and "SUMMARY-2" in summaries[2]
    main = [r for r in backend.requests if not is_summary_request(r)]
    assert "SUMMARY-3" in main[-1].messages[0].content
    assert main[-1].messages[0].content.startswith(agent.system_prompt)
    assert result.usage.requests == len(backend.requests)


def test_custom_policies_are_checked_for_pairing_and_budget() -> None:
    def last_only(messages: Any, window: Any) -> list[Any]:
        return [messages[0], messages[-1]]

    agent, _ = steps_agent(1, ContextConfig(policy=last_only))
    with pytest.raises(ConfigurationError, match="pairing"):
        agent.run("Go.")

    def everything(messages: Any, window: Any) -> list[Any]:
        return list(messages)

    agent, _ = steps_agent(8, ContextConfig(policy=everything, context_window=4000, tool_result_tokens=3000))
    with pytest.raises(ContextOverflowError):
        agent.run("Go.")


def test_calibration_tightens_the_limit_when_the_server_counts_more() -> None:
    backend = FakeOpenAI("llama-3-8b")
    window = ContextWindow(ContextConfig(context_window=8000, reserve_tokens=1000), backend)
    history = [SystemMessage(content="sys"), UserMessage(content=text(2000))]
    import asyncio

    asyncio.run(window.build(history))
    before = window.limit
    window.observe(Usage(input_tokens=window.last_tokens * 2))
    assert window.limit < before * 0.75


def test_context_true_uses_the_defaults() -> None:
    agent = Agent(model=ScriptedBackend(["hi"]), context=True)
    assert agent.context == ContextConfig()
    assert agent.run("hello").output == "hi"


def test_tool_call_pairs_are_checked() -> None:
    a = ToolCall(name="emit", arguments={})
    assert pairing_problems([AssistantMessage(tool_calls=[a])]) != []
    ok = [AssistantMessage(tool_calls=[a]), ToolMessage(tool_call_id=a.id, name="emit", content="")]
    assert pairing_problems(ok) == []
    assert pairing_problems([*ok, ok[1]]) != []


def test_the_loop_feeds_reported_prompt_sizes_back_to_an_estimating_counter() -> None:
    def run(factor: int) -> list[int]:
        def model(request: Any) -> Any:
            steps = sum(isinstance(m, AssistantMessage) for m in request.messages)
            message = AssistantMessage(
                tool_calls=[ToolCall(name="emit", arguments={"n": 1200, "seed": steps})]
            )
            if len(backend.requests) > 6:
                message = AssistantMessage(content="done")
            estimate = sum(EstimateCounter().count_message(m) for m in request.messages)
            return ModelResponse(message=message, usage=Usage(input_tokens=estimate * factor, requests=1))

        backend = ScriptedBackend(model)
        config = ContextConfig(context_window=8000, reserve_tokens=500, counter=EstimateCounter())
        Agent(model=backend, tools=[emit], context=config).run("Go.")
        return [len(r.messages) for r in backend.requests]

    assert run(1) == [2, 4, 6, 8, 10, 12, 14]  # the estimate is right: nothing evicted
    calibrated = run(3)  # the server counts three times as many tokens: evict to fit its count
    assert any(b < a for a, b in itertools.pairwise(calibrated))


def test_one_counter_per_backend_remembers_counts_across_runs() -> None:
    calls: list[int] = []

    class Words(ScriptedBackend):
        def count_tokens(self, messages: Any, tools: Any = ()) -> int:
            calls.append(len(messages))
            return sum(2 + len((m.content or "").split()) for m in messages)

    backend = Words(["a", "b"])
    assert counter_for(backend) is counter_for(backend)
    agent = Agent(model=backend, context=True)
    first = agent.run("hello there")
    before = len(calls)
    agent.run("again", message_history=[m.model_copy() for m in first.messages])  # same content, new objects
    # One render each for the first run's reply and the new prompt; the system prompt and the first
    # task, seen by the first run, are not measured again.
    assert len(calls) - before == 2


def test_the_custom_policy_example_in_the_docs_works() -> None:
    source = Path(__file__).resolve().parents[2].joinpath("docs", "memory.md").read_text()
    code = source.split("def last_twenty", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec("def last_twenty" + code.split("\nAgent(", 1)[0], namespace)
    agent, backend = steps_agent(
        15, ContextConfig(policy=namespace["last_twenty"], context_window=32_000), size=50
    )
    assert agent.run("Go.").output == "done"
    assert max(len(r.messages) for r in backend.requests) <= 22
    assert all(pairing_problems(r.messages) == [] for r in backend.requests)

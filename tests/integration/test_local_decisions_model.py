"""The embedded model decides for itself (issue 18): whether to call, how many calls, and values taken
from the request; and the forced path (``call_then_answer``) still works when asked for.

Real model (SmolLM2-135M-Instruct, CPU), on both in-process engines (the ``engine`` and ``local``
fixtures of conftest.py): the decision path is the shared engine's, fed by each engine's next-token
log-probabilities. Replies kept short.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from agentkit import Agent, tool
from agentkit.backends import ModelRequest, ModelSettings
from agentkit.backends.local import InProcessBackend
from agentkit.messages import AssistantMessage, ToolMessage, UserMessage
from agentkit.registry import ToolRegistry
from tests.local_engines import make_local, multiply

pytestmark = pytest.mark.slow


SPANS: list[tuple[float, float]] = []
"""When each weather lookup ran, to see that they overlap."""


@tool
async def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The name of the city.
    """
    started = time.perf_counter()
    await asyncio.sleep(0.5)
    SPANS.append((started, time.perf_counter()))
    return f"sunny in {city}"


def _calls(messages: list[object]) -> list[object]:
    return [c for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls]


def test_local_decides_by_default(local: InProcessBackend) -> None:
    assert local.decide_calls and not local.call_then_answer
    assert local.parallel_calls and local.values_from_request


def test_first_reply_is_an_answer_when_no_tool_fits(local: InProcessBackend) -> None:
    agent = Agent(model=local, tools=[multiply], settings=ModelSettings(max_tokens=30), max_steps=3)
    result = agent.run("Tell me a joke about penguins.")
    assert _calls(result.messages) == []
    assert result.stop_reason == "final_answer" and result.steps == 1
    assert result.output and result.output.strip()
    assert local.last_decision is not None and local.last_decision["choice"] == "none"


def test_first_reply_calls_when_the_tool_fits_and_the_cache_is_reused(local: InProcessBackend) -> None:
    request = ModelRequest(
        messages=[UserMessage(content="How much is 37 multiplied by 41?")],
        tools=ToolRegistry([multiply]).specs(),
        settings=ModelSettings(max_tokens=40),
    )
    response = local.generate_sync(request)
    assert local.last_decision is not None and local.last_decision["choice"] == "required"
    [call] = response.message.tool_calls
    assert ToolRegistry([multiply]).validate(call) == {"a": 37, "b": 41}
    # the decision step ran the prompt; decoding the call found it cached and prefilled one token
    assert local.stats.last_prefilled == 1
    assert local.stats.last_reused == len(local.prompt_ids(request)) - 1


def test_two_calls_parse_and_run_in_parallel(local: InProcessBackend) -> None:
    SPANS.clear()
    agent = Agent(model=local, tools=[get_weather], settings=ModelSettings(max_tokens=80), max_steps=3)
    result = agent.run("What is the weather in Paris and in Oslo?")
    calls = _calls(result.messages)
    assert [c.arguments for c in calls] == [{"city": "Paris"}, {"city": "Oslo"}]  # type: ignore[attr-defined]
    first = next(m for m in result.messages if isinstance(m, AssistantMessage))
    assert len(first.tool_calls) == 2  # both in one reply
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [r.content for r in results] == ["sunny in Paris", "sunny in Oslo"]
    (a_start, a_end), (b_start, b_end) = SPANS
    assert a_start < b_end and b_start < a_end  # the two lookups overlapped


def test_calls_decoded_one_at_a_time_reuse_the_cache_between_them(local: InProcessBackend) -> None:
    request = ModelRequest(
        messages=[UserMessage(content="What is the weather in Paris and in Oslo?")],
        tools=ToolRegistry([get_weather]).specs(),
        tool_choice="required",  # no decision step: the call loop alone
        settings=ModelSettings(max_tokens=80),
    )
    first = local.generate_sync(request)
    assert [c.arguments for c in first.message.tool_calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    # the model's log-odds are asked after Paris; after Oslo the request asks for nothing more
    assert local.last_calls is not None and len(local.last_calls["stop_log_odds"]) == 1
    assert local.last_calls["counted"]
    prefilled, reused = local.stats.tokens_prefilled, local.stats.tokens_reused
    again = local.generate_sync(request)  # the cache now holds the prompt and both calls
    assert [c.arguments for c in again.message.tool_calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    # each step (the first call, the log-odds of stopping after it, the second call) runs only the
    # tokens the cache lacks: one or two, never the prompt again
    assert local.stats.tokens_prefilled - prefilled <= 8
    assert local.stats.tokens_reused - reused >= 3 * (len(local.prompt_ids(request)) - 1)


def test_string_values_come_from_the_request(local: InProcessBackend) -> None:
    request = ModelRequest(
        messages=[UserMessage(content="What's the weather like in Lisbon today?")],
        tools=ToolRegistry([get_weather]).specs(),
        tool_choice="required",
        settings=ModelSettings(max_tokens=40),
    )
    [call] = local.generate_sync(request).message.tool_calls
    assert call.arguments["city"] in "What's the weather like in Lisbon today?"
    assert call.arguments["city"] == "Lisbon"


def test_call_then_answer_still_forces_one_call_then_an_answer(engine: str) -> None:
    forced = make_local(engine, call_then_answer=True, parallel_calls=False)
    agent = Agent(model=forced, tools=[multiply], settings=ModelSettings(max_tokens=60), max_steps=3)
    result = agent.run("Tell me a joke about penguins.")  # no tool fits, but a call is forced
    calls = _calls(result.messages)
    assert len(calls) == 1 and calls[0].name == "multiply"  # type: ignore[attr-defined]
    assert result.stop_reason == "final_answer" and result.steps == 2
    assert forced.last_decision is None  # no decision step ran

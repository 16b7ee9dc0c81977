"""Hostile native replies from an OpenAI-compatible server, over real HTTP (tests/integration/
fake_openai_server.py), through the agent: whole and streamed, with and without a session.

A problem in a tool call (its arguments, name or id) goes back to the model as that call's error
result and the run goes on; a reply whose structure is not a chat completion at all (content that is a
number, choices that are a string) ends the run with ``InvalidResponseError``. Nothing else escapes.
Before these fixes, of the 36 replies in ``HOSTILE`` and ``BROKEN``, 22 sent whole and 18 streamed
ended the run with an exception that is not agentkit's (RecursionError, PydanticSerializationError,
UnicodeEncodeError, TypeError, AttributeError, ValueError, pydantic's ValidationError), and 3 more
(megabytes of arguments, a name or an id of 100,000 characters) with ContextOverflowError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import Agent
from agentkit.backends.openai import InvalidResponseError, OpenAIBackend
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.result import RunResult
from agentkit.retry import RetryPolicy
from tests.hostile import (
    EXPECTED_ENDINGS,
    REFS,
    SURROGATES,
    Huge,
    check_pairing,
    hostile_text,
    hostile_values,
    materialize,
    maybe_session,
    run_to_an_end,
    tools_for,
    wire_json,
)
from tests.integration.fake_openai_server import FakeOpenAIServer, Reply, Stream, chunk, completion

pytestmark = pytest.mark.timeout(600)


class Replies:
    """What the server says next: the queued hostile messages, then a plain answer. Each request is
    answered in kind (an SSE stream when the client asked for one)."""

    def __init__(self) -> None:
        self.queue: list[dict[str, Any]] = []
        self.sent_back: list[dict[str, Any]] = []

    def __call__(self, body: dict[str, Any], index: int) -> Reply | Stream:
        self.sent_back.append(body)
        message = self.queue.pop(0) if self.queue else {"role": "assistant", "content": "done"}
        if body.get("stream"):
            return Stream(stream_chunks(message))
        data = completion("x")
        data["choices"][0]["message"] = message
        return Reply(body=json.dumps(data).encode())


def stream_chunks(message: Any) -> list[dict[str, Any]]:
    """``message`` as a server streams it: its text, then one fragment per tool call."""
    if not isinstance(message, dict):
        return [{"id": "s", "choices": [{"index": 0, "delta": message, "finish_reason": "stop"}]}]
    chunks = [chunk(None)]
    if message.get("content") is not None:
        chunks.append({"id": "s", "choices": [{"index": 0, "delta": {"content": message["content"]}}]})
    calls = message.get("tool_calls") or []
    for index, call in enumerate(calls if isinstance(calls, list) else [calls]):
        fragment = {**call, "index": index} if isinstance(call, dict) else call
        chunks.append(chunk(tool_calls=[fragment]))
    chunks.append(chunk(finish="tool_calls" if calls else "stop"))
    chunks.append(
        chunk(choices=False, usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12})
    )
    return chunks


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeOpenAIServer, Replies]]:
    replies = Replies()
    with FakeOpenAIServer(replies) as fake:
        yield fake, replies


def agent_at(url: str, ref: str = "#/$defs/n", transport: str = "auto") -> Agent[Any, Any]:
    backend = OpenAIBackend(
        "fake-model",
        base_url=url,
        api_key="sk-test-0123456789abcdef",
        retry=RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.01),
        http_transport=transport,  # type: ignore[arg-type]
    )
    return Agent(model=backend, tools=tools_for(ref), max_steps=6)


def call(name: Any = "echo", arguments: Any = '{"text": "hi"}', call_id: Any = "c1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def calls(*items: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": list(items)}


def brackets(depth: int) -> str:
    return "[" * depth + "]" * depth


# Each reply's problem is in a tool call: the model must be told, and the run must end with "done".
HOSTILE: dict[str, Any] = {
    "arguments nested 5000 deep": calls(call(arguments='{"text":' + brackets(5000) + "}")),
    "arguments nested 300 deep": calls(call(arguments='{"text":' + brackets(300) + "}")),
    "objects nested 3000 deep": calls(call(arguments='{"a":' * 3000 + "1" + "}" * 3000)),
    "a lone surrogate": calls(call(arguments='{"text": "a\\ud800b"}')),
    "NaN": calls(call(name="keep", arguments='{"value": NaN}')),
    "-Infinity": calls(call(name="keep", arguments='{"value": -Infinity}')),
    "an integer of 5000 digits": calls(call(name="keep", arguments='{"value": ' + "9" * 5000 + "}")),
    "3 MB of arguments": calls(call(arguments=json.dumps({"text": "a" * 3_000_000}))),
    "arguments that are a list": calls(call(arguments=[1, 2])),
    "arguments that are a number": calls(call(arguments=5)),
    "arguments that are true": calls(call(arguments=True)),
    "arguments that are an object": calls(call(arguments={"text": "as an object"})),
    "arguments that are not JSON": calls(call(arguments="{{{")),
    "arguments that are a JSON string": calls(call(arguments='"just a string"')),
    "an empty key": calls(call(name="keep", arguments='{"": 1}')),
    "a null name": calls(call(name=None)),
    "a number for a name": calls(call(name=5)),
    "a list for a name": calls(call(name=["echo"])),
    "a name of 100,000 characters": calls(call(name="e" * 100_000)),
    "a name with a lone surrogate": calls(call(name="ec\ud800ho")),
    "an empty name": calls(call(name="")),
    "a number for an id": calls(call(call_id=7)),
    "a null id": calls(call(call_id=None)),
    "the same id twice": calls(call(call_id="d"), call(call_id="d")),
    "an id of 100,000 characters": calls(call(call_id="i" * 100_000)),
    "a null function": calls({"id": "c", "type": "function", "function": None}),
    "a function that is a string": calls({"id": "c", "type": "function", "function": "echo"}),
    "a call that is a string": calls("echo"),
    "a call that is null": calls(None),
    "tool_calls that is one object": {"role": "assistant", "content": None, "tool_calls": call()},
    "tool_calls that is a string": {"role": "assistant", "content": None, "tool_calls": "echo"},
    "60 calls nested deeper and deeper": calls(
        *[call(call_id=f"c{i}", arguments='{"text":' + brackets(i * 10) + "}") for i in range(60)]
    ),
    "content with a lone surrogate and a call": {
        "role": "assistant",
        "content": "a\ud800b",
        "tool_calls": [call()],
    },
}

# Replies that are not chat completions at all: a typed error, never another exception.
BROKEN: dict[str, Any] = {
    "content that is a number": {"role": "assistant", "content": 5},
    "content that is an object": {"role": "assistant", "content": {"a": 1}},
    "a message that is a string": "hello",
}


def assert_told(result: RunResult[Any]) -> None:
    """Every call that could not run (bad arguments, unknown name) has an error result."""
    results = {m.tool_call_id: m for m in result.messages if isinstance(m, ToolMessage)}
    assert results
    for message in result.messages:
        if isinstance(message, AssistantMessage):
            for tool_call in message.tool_calls:
                if tool_call.arguments_error is not None or tool_call.name not in ("echo", "keep", "refd"):
                    assert results[tool_call.id].is_error, (tool_call, results[tool_call.id])


def outcome_of(agent: Agent[Any, Any], stream: bool, with_session: bool) -> Any:
    with maybe_session(with_session) as session:
        result = run_to_an_end(agent, stream=stream, session=session)
        if session is not None and isinstance(result, RunResult):
            assert len(session.load()) == len(result.messages)
    return result


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_tool_call_goes_back_to_the_model_and_the_run_goes_on(
    server: tuple[FakeOpenAIServer, Replies], name: str, stream: bool
) -> None:
    fake, replies = server
    replies.queue = [HOSTILE[name]]
    replies.sent_back = []
    result = outcome_of(
        agent_at(fake.base_url), stream, with_session=name.startswith(("a lone", "arguments nested 300"))
    )
    assert isinstance(result, RunResult), result
    assert result.output == "done"
    check_pairing(result.messages)
    assert_told(result)
    # What went back over the wire is the bounded history: small, valid UTF-8 JSON, every call paired.
    last = replies.sent_back[-1]["messages"]
    assert len(json.dumps(last)) < 200_000
    sent_calls = [c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    assert sent_calls == [m["tool_call_id"] for m in last if m["role"] == "tool"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("name", list(BROKEN))
def test_a_reply_that_is_no_chat_completion_is_a_typed_error(
    server: tuple[FakeOpenAIServer, Replies], name: str, stream: bool
) -> None:
    fake, replies = server
    replies.queue = [BROKEN[name]]
    with pytest.raises(InvalidResponseError, match="not a chat completion"):
        agent_at(fake.base_url).run("go") if not stream else run_streamed(agent_at(fake.base_url))
    replies.queue = []


def run_streamed(agent: Agent[Any, Any]) -> None:
    import asyncio

    async def consume() -> None:
        async for _ in agent.run_stream("go"):
            pass

    asyncio.run(consume())


def test_a_lone_surrogate_goes_back_to_the_server_as_a_replacement_character(
    server: tuple[FakeOpenAIServer, Replies],
) -> None:
    fake, replies = server
    replies.queue = [calls(call(arguments='{"text": "a\\ud800b"}'))]
    replies.sent_back = []
    result = agent_at(fake.base_url).run("go")
    assert result.output == "done"
    tool_message = replies.sent_back[-1]["messages"][-1]
    assert tool_message == {"role": "tool", "tool_call_id": "c1", "content": "a\ufffdb"}


# -- the property: generated hostile wire replies -------------------------------------------------

wire_names = st.one_of(
    st.sampled_from(["echo", "keep", "refd"]),
    st.text(max_size=12),
    SURROGATES,
    st.just(Huge(100_000)),
    st.integers(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
wire_arguments = st.one_of(
    hostile_values.map(lambda v: ("json", v)),
    st.sampled_from([5, 20, 101, 400, 5_000]).map(lambda n: ("brackets", n)),
    st.sampled_from(["{{{", "", '"s"', "NaN", "[1, 2]", '{"value": 1,}']).map(lambda t: ("text", t)),
    st.one_of(st.integers(), st.none(), st.booleans(), st.lists(st.integers(), max_size=3)).map(
        lambda v: ("raw", v)
    ),
    st.dictionaries(st.sampled_from(["text", "value"]), st.text(max_size=5), max_size=2).map(
        lambda v: ("raw", v)
    ),
)
wire_ids = st.one_of(st.none(), st.text(max_size=8), st.integers(), st.just("dup"), st.just(Huge(50_000)))
wire_calls = st.one_of(
    st.tuples(wire_ids, wire_names, wire_arguments),
    st.sampled_from(["echo", None, 5]).map(lambda v: ("entry", v)),
)
wire_replies = st.tuples(
    st.one_of(st.none(), hostile_text),
    st.one_of(st.lists(wire_calls, min_size=1, max_size=5), st.lists(wire_calls, min_size=20, max_size=40)),
)


def wire_arguments_text(kind: str, value: Any) -> Any:
    if kind == "json":
        return wire_json(materialize(value))
    if kind == "brackets":
        return '{"value":' + brackets(value) + "}"
    return value  # text as it is, or not a string at all


def wire_message(recipe: tuple[Any, list[Any]]) -> dict[str, Any]:
    content, call_recipes = recipe
    tool_calls: list[Any] = []
    for item in call_recipes:
        if item[0] == "entry":
            tool_calls.append(item[1])
            continue
        call_id, name, (kind, arguments) = item
        tool_calls.append(call(materialize(name), wire_arguments_text(kind, arguments), materialize(call_id)))
    return {"role": "assistant", "content": materialize(content), "tool_calls": tool_calls}


@pytest.mark.slow
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    script=st.lists(wire_replies, min_size=1, max_size=2),
    ref=st.sampled_from(REFS),
    with_session=st.booleans(),
    stream=st.booleans(),
    transport=st.sampled_from(["aiohttp", "httpx"]),
)
def test_generated_hostile_replies_end_normally_or_with_a_documented_error(
    server: tuple[FakeOpenAIServer, Replies],
    script: list[tuple[Any, list[Any]]],
    ref: str,
    with_session: bool,
    stream: bool,
    transport: str,
) -> None:
    fake, replies = server
    replies.queue = [wire_message(recipe) for recipe in script]
    replies.sent_back = []
    try:
        outcome = outcome_of(agent_at(fake.base_url, ref, transport), stream, with_session)
    finally:
        replies.queue = []
    if isinstance(outcome, EXPECTED_ENDINGS):
        return
    assert isinstance(outcome, RunResult)
    assert outcome.output == "done"
    check_pairing(outcome.messages)
    assert_told(outcome)

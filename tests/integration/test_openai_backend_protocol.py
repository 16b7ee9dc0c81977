"""What the OpenAI backend sends and how it reads replies, over real HTTP to a local fake server:
native tools and tool_choice, parallel calls with exact id pairing, structured output and its
fallback, streaming usage, and client reuse across steps and event loops."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, tool
from agentkit.backends import ModelRequest, ModelResponse, TextDelta, resolve_backend
from agentkit.backends.openai import OpenAIBackend
from agentkit.events import FinalOutput, ModelTextDelta, ToolCallFinished
from agentkit.messages import UserMessage
from agentkit.retry import RetryPolicy
from tests.integration.fake_openai_server import (
    Reply,
    Stream,
    chunk,
    completion,
    error,
    serving,
    text_stream,
    tool_call,
)

pytestmark = pytest.mark.timeout(30)


def backend(url: str, **kwargs: Any) -> OpenAIBackend:
    kwargs.setdefault("retry", RetryPolicy(initial_backoff=0.01, jitter=0.0))
    return OpenAIBackend("fake-model", base_url=url, **kwargs)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def mul(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def sent(server: Any, index: int) -> dict[str, Any]:
    body = server.chat_requests[index].body
    assert body is not None
    return dict(body)


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("mul", {"type": "function", "function": {"name": "mul"}}),
    ],
)
async def test_tools_and_tool_choice_are_sent_natively(choice: str, wire: Any) -> None:
    with serving([Reply(body=completion("no tools needed"))]) as server:
        agent = Agent(
            model=backend(server.base_url, parallel_tool_calls=True), tools=[add, mul], tool_choice=choice
        )
        await agent.arun("hi")
    body = sent(server, 0)
    assert body["tool_choice"] == wire
    assert [t["function"]["name"] for t in body["tools"]] == ["add", "mul"]
    assert body["tools"][0]["function"]["parameters"]["required"] == ["a", "b"]
    assert body["parallel_tool_calls"] is True


async def test_a_forced_tool_choice_is_reset_to_auto_after_the_tool_result() -> None:
    script = [
        Reply(body=completion(None, [tool_call("call_1", "mul", {"a": 6, "b": 7})])),
        Reply(body=completion("It is 42.")),
    ]
    with serving(script) as server:
        result = await Agent(model=backend(server.base_url), tools=[add, mul], tool_choice="mul").arun("6*7?")
    assert result.output == "It is 42."
    assert sent(server, 0)["tool_choice"] == {"type": "function", "function": {"name": "mul"}}
    assert sent(server, 1)["tool_choice"] == "auto"


async def test_the_reset_can_be_switched_off() -> None:
    script = [
        Reply(body=completion(None, [tool_call("call_1", "mul", {"a": 6, "b": 7})])),
        Reply(body=completion("42")),
    ]
    with serving(script) as server:
        b = backend(server.base_url, reset_tool_choice=False)
        await Agent(model=b, tools=[mul], tool_choice="required").arun("6*7?")
    assert sent(server, 1)["tool_choice"] == "required"


async def test_parallel_tool_calls_run_and_results_pair_with_their_exact_ids() -> None:
    calls = [
        tool_call("call_B", "mul", {"a": 3, "b": 4}),
        tool_call("call_A", "add", {"a": 3, "b": 4}),
        tool_call("call_A", "add", {"a": 1, "b": 1}),  # a server that repeats an id
    ]
    with serving([Reply(body=completion(None, calls)), Reply(body=completion("12, 7 and 2"))]) as server:
        result = await Agent(model=backend(server.base_url), tools=[add, mul]).arun("both")
    assert result.output == "12, 7 and 2"
    messages = sent(server, 1)["messages"]
    assistant, results = messages[-4], messages[-3:]
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert ids[:2] == ["call_B", "call_A"] and ids[2] not in ("call_A", "call_B")
    assert [(r["tool_call_id"], r["content"]) for r in results] == [
        ("call_B", "12"),
        ("call_A", "7"),
        (ids[2], "2"),
    ]


async def test_streaming_assembles_tool_calls_from_fragments_and_reports_usage() -> None:
    fragments = [
        chunk(tool_calls=[{"index": 0, "id": "call_s1", "type": "function", "function": {"name": "add"}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"a": 2'}}]),
        chunk(tool_calls=[{"index": 1, "id": "call_s2", "function": {"name": "mul", "arguments": "{"}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": ', "b": 5}'}}]),
        chunk(tool_calls=[{"index": 1, "function": {"arguments": '"a": 2, "b": 5}'}}]),
        chunk(finish="tool_calls"),
        chunk(choices=False, usage={"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}),
    ]
    with serving([Stream(fragments), Stream(text_stream("7 and 10"))]) as server:
        agent = Agent(model=backend(server.base_url), tools=[add, mul])
        events = [event async for event in agent.run_stream("go")]
    finished = {e.call.id: e.result.content for e in events if isinstance(e, ToolCallFinished)}
    assert finished == {"call_s1": "7", "call_s2": "10"}
    assert "".join(e.text for e in events if isinstance(e, ModelTextDelta)) == "7 and 10"
    final = events[-1]
    assert isinstance(final, FinalOutput)
    assert final.result.usage.input_tokens == 25 and final.result.usage.output_tokens == 12
    assert final.result.usage.requests == 2
    assert sent(server, 0)["stream_options"] == {"include_usage": True}


async def test_a_server_rejecting_stream_options_is_asked_again_without_them() -> None:
    script = [error(400, "Unrecognized request argument supplied: stream_options"), Stream(text_stream("hi"))]
    with serving(script) as server:
        b = backend(server.base_url)
        request = ModelRequest(messages=(UserMessage(content="x"),))
        items = [item async for item in b.stream(request)]
    assert "".join(i.text for i in items if isinstance(i, TextDelta)) == "hi"
    assert "stream_options" in sent(server, 0) and "stream_options" not in sent(server, 1)


async def test_a_stream_without_usage_counts_the_request_and_no_invented_tokens() -> None:
    with serving([Stream(text_stream("a reply", usage=False))]) as server:
        request = ModelRequest(messages=(UserMessage(content="x" * 400),))
        items = [item async for item in backend(server.base_url).stream(request)]
    final = items[-1]
    assert isinstance(final, ModelResponse)
    assert (final.usage.requests, final.usage.input_tokens, final.usage.output_tokens) == (1, 0, 0)


class City(BaseModel):
    name: str
    population: int


async def test_structured_output_uses_response_format_json_schema() -> None:
    with serving([Reply(body=completion('{"name": "Oslo", "population": 700000}'))]) as server:
        result = await Agent(model=backend(server.base_url), output_type=City).arun("a city")
    assert result.output == City(name="Oslo", population=700000)
    response_format = sent(server, 0)["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"]["required"] == ["name", "population"]


async def test_structured_output_falls_back_to_a_final_answer_tool() -> None:
    script = [
        error(400, "response_format json_schema is not supported by this model"),
        Reply(
            body=completion(None, [tool_call("call_f", "final_answer", {"name": "Oslo", "population": 7})])
        ),
        Reply(
            body=completion(None, [tool_call("call_g", "final_answer", {"name": "Rome", "population": 9})])
        ),
    ]
    with serving(script) as server:
        b = backend(server.base_url)
        result = await Agent(model=b, output_type=City).arun("a city")
        second = await Agent(model=b, output_type=City).arun("again")  # remembered: no second 400
    assert result.output == City(name="Oslo", population=7)
    body = sent(server, 1)
    assert "response_format" not in body
    assert body["tool_choice"] == {"type": "function", "function": {"name": "final_answer"}}
    assert body["tools"][0]["function"]["parameters"]["required"] == ["name", "population"]
    assert second.output == City(name="Rome", population=9)
    assert len(server.chat_requests) == 3 and "response_format" not in sent(server, 2)


async def test_the_final_answer_tool_wraps_non_object_outputs() -> None:
    script = [Reply(body=completion(None, [tool_call("call_f", "final_answer", {"value": [1, 2, 3]})]))]
    with serving(script) as server:
        b = backend(server.base_url, structured_output="tool")
        result = await Agent(model=b, output_type=list[int]).arun("numbers")
    assert result.output == [1, 2, 3]
    assert sent(server, 0)["tools"][0]["function"]["parameters"]["required"] == ["value"]


def test_the_client_is_reused_across_steps_and_recreated_per_event_loop() -> None:
    def handler(body: dict[str, Any], index: int) -> Reply:
        if body["messages"][-1]["role"] == "user":
            return Reply(body=completion(None, [tool_call(f"call_{index}", "add", {"a": 1, "b": 1})]))
        return Reply(body=completion("2"))

    with serving(handler) as server:
        agent = Agent(model=backend(server.base_url), tools=[add])
        first = agent.run("1+1")  # asyncio.run: its own loop
        second = agent.run("1+1 again")  # a new loop: the old client must not be used
    assert first.output == second.output == "2"
    ports = [r.peer_port for r in server.chat_requests]
    assert len(ports) == 4
    assert ports[0] == ports[1] and ports[2] == ports[3]  # one keep-alive connection per run
    assert ports[0] != ports[2]


def test_model_strings_resolve_without_importing_the_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from agentkit.backends import resolve_backend;"
        "b = resolve_backend('openai:my-model@http://127.0.0.1:9/v1');"
        "print(b.model, b.base_url, 'openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["my-model", "http://127.0.0.1:9/v1", "False"]
    assert isinstance(resolve_backend("openai:m@https://host/v1"), OpenAIBackend)

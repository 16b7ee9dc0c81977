"""How the OpenAI backend copes with real servers' quirks, reproduced over real HTTP by the tests' own
server (tests/integration/fake_openai_server.py) where a real one cannot produce them on demand; the
same behaviours against llama-cpp-python's server itself are in tests/integration/test_llama_server.py.

- a feature rejected with a status other than 400 (llama-cpp-python answers ``response_format:
  json_schema`` with HTTP 500): one try, then the fallback, remembered per base URL;
- a streamed request that comes back empty (llama-cpp-python's ``chatml-function-calling`` with
  tools): one whole request instead, remembered for requests with tools;
- a port nobody listens on: said so, retried only a little, whatever the transport;
- credentials in the base URL: refused, the password never shown.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, tool
from agentkit.backends import ModelRequest, ModelResponse, TextDelta
from agentkit.backends.openai import OpenAIBackend, ServerUnreachableError
from agentkit.errors import ConfigurationError
from agentkit.events import FinalOutput
from agentkit.messages import UserMessage
from agentkit.retry import RetriesExhaustedError, RetryPolicy, TransientError
from agentkit.tool_spec import ToolSpec
from tests.integration.fake_openai_server import (
    Reply,
    Stream,
    completion,
    error,
    serving,
    text_stream,
    tool_call,
)

pytestmark = pytest.mark.timeout(60)

LLAMA_CPP_500 = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
)
"""What llama-cpp-python 0.3.36's server says, with HTTP 500, to ``response_format: json_schema``."""

FAST = RetryPolicy(max_attempts=6, initial_backoff=0.05, max_backoff=0.1, jitter=0.0)


def backend(url: str, **kwargs: Any) -> OpenAIBackend:
    kwargs.setdefault("retry", FAST)
    return OpenAIBackend("fake-model", base_url=url, api_key="sk-test-0123456789abcdef", **kwargs)


class City(BaseModel):
    name: str
    population: int


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def sent(server: Any, index: int) -> dict[str, Any]:
    body = server.chat_requests[index].body
    assert body is not None
    return dict(body)


# -- a feature rejected with HTTP 500 ----------------------------------------------------------------


async def test_a_500_rejecting_response_format_falls_back_after_one_try_and_is_remembered_per_url() -> None:
    script = [
        error(500, LLAMA_CPP_500),
        Reply(
            body=completion(None, [tool_call("call_f", "final_answer", {"name": "Oslo", "population": 7})])
        ),
        Reply(
            body=completion(None, [tool_call("call_g", "final_answer", {"name": "Rome", "population": 9})])
        ),
    ]
    with serving(script) as server:
        first = await Agent(model=backend(server.base_url), output_type=City).arun("a city")
        # A new backend object at the same base URL (the CLI and model strings make one per run).
        second = await Agent(model=backend(server.base_url + "/"), output_type=City).arun("again")
    assert first.output == City(name="Oslo", population=7)
    assert second.output == City(name="Rome", population=9)
    assert len(server.chat_requests) == 3  # one try with response_format, never again
    assert "response_format" in sent(server, 0)
    assert "response_format" not in sent(server, 1) and "response_format" not in sent(server, 2)
    assert sent(server, 2)["tools"][0]["function"]["name"] == "final_answer"


async def test_a_500_rejecting_a_feature_that_cannot_be_dropped_is_raised_at_once() -> None:
    from agentkit.backends.openai import BadRequestError

    with serving([error(500, LLAMA_CPP_500)] * 3) as server:
        b = backend(server.base_url, structured_output="json_schema")  # no fallback allowed
        with pytest.raises(BadRequestError, match=r"(?s)HTTP 500.*response_format"):
            await Agent(model=b, output_type=City).arun("a city")
    assert len(server.chat_requests) == 1


async def test_a_500_that_names_no_feature_is_still_retried() -> None:
    with serving([error(500, "CUDA out of memory"), Reply(body=completion("fine"))]) as server:
        response = await backend(server.base_url).complete(ModelRequest(messages=(UserMessage(content="x"),)))
    assert response.message.content == "fine" and len(server.chat_requests) == 2


# -- a stream that comes back empty -------------------------------------------------------------------

ADD = ToolSpec("add", "Add two integers.", dict(add.parameters))


def ask(tools: tuple[ToolSpec, ...] = ()) -> ModelRequest:
    return ModelRequest(messages=(UserMessage(content="1 + 2?"),), tools=tools)


async def collect(b: OpenAIBackend, request: ModelRequest) -> tuple[str, ModelResponse]:
    text, final = "", None
    async for item in b.stream(request):
        if isinstance(item, TextDelta):
            text += item.text
        else:
            final = item
    assert final is not None
    return text, final


EMPTY = Stream([], done=False)  # HTTP 200, then the body ends: what chatml-function-calling sends


async def test_an_empty_stream_with_tools_is_asked_for_whole_once_and_not_streamed_again() -> None:
    script = [
        EMPTY,
        Reply(body=completion(None, [tool_call("call_1", "add", {"a": 1, "b": 2})])),
        Reply(body=completion("3")),
    ]
    with serving(script) as server:
        _, first = await collect(backend(server.base_url), ask((ADD,)))
        text, second = await collect(backend(server.base_url), ask((ADD,)))  # a new backend, same URL
    assert first.message.tool_calls[0].arguments == {"a": 1, "b": 2}
    assert text == "3" and second.message.content == "3"
    assert [sent(server, i).get("stream", False) for i in range(3)] == [True, False, False]


async def test_an_empty_stream_without_tools_is_asked_for_whole_once() -> None:
    with serving([EMPTY, Reply(body=completion("whole")), Stream(text_stream("streamed"))]) as server:
        first, _ = await collect(backend(server.base_url), ask())
        second, _ = await collect(backend(server.base_url), ask())  # without tools: streamed again
    assert (first, second) == ("whole", "streamed")
    assert [sent(server, i).get("stream", False) for i in range(3)] == [True, False, True]


async def test_a_streamed_agent_run_against_a_server_that_cannot_stream_tools(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = [
        EMPTY,
        Reply(body=completion(None, [tool_call("call_1", "add", {"a": 1, "b": 2})])),
        Reply(body=completion("3")),
    ]
    with serving(script) as server, caplog.at_level(logging.WARNING, "agentkit"):
        events = [e async for e in Agent(model=backend(server.base_url), tools=[add]).run_stream("1 + 2?")]
    final = events[-1]
    assert isinstance(final, FinalOutput) and final.result.output == "3"
    assert len(server.chat_requests) == 3  # no retries of the empty stream
    assert not [r for r in caplog.records if "attempt" in r.getMessage()]


# -- a port nobody listens on -------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
@pytest.mark.parametrize("how", ["complete", "agent.run", "agent.run_stream"])
def test_a_refused_connection_says_so_and_is_retried_only_a_little(
    transport: str, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    b = backend(f"http://127.0.0.1:{closed_port()}/v1", http_transport=transport)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "agentkit"), pytest.raises(ServerUnreachableError) as caught:
        if how == "complete":
            asyncio.run(b.complete(ask()))
        elif how == "agent.run":
            Agent(model=b).run("hi")  # Agent.run's own probe for a running loop once hid the cause
        else:

            async def consume() -> None:
                async for _ in Agent(model=b).run_stream("hi"):
                    pass

            asyncio.run(consume())
    message = str(caught.value)
    assert "refused" in message and "timed out" not in message and "event loop" not in message
    assert "start the server" in message
    retries = [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]
    assert len(retries) == 2 and all("refused" in r for r in retries)  # 3 attempts in all, not 6
    assert time.monotonic() - started < 5


def test_a_refused_connection_under_a_one_attempt_policy_still_says_refused() -> None:
    b = backend(f"http://127.0.0.1:{closed_port()}/v1", retry=RetryPolicy(max_attempts=1))
    with pytest.raises(RetriesExhaustedError, match="refused") as caught:
        asyncio.run(b.complete(ask()))
    assert isinstance(caught.value.last_error, TransientError)


# -- credentials in the base URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://user:s3cret-pw@127.0.0.1:8080/v1",
        "https://s3cret-pw@host.example/v1",
        "http://:s3cret-pw@h/v1",
    ],
)
def test_credentials_in_the_base_url_are_refused_without_showing_them(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="carries credentials") as caught:
        OpenAIBackend("m", base_url=url)
    assert "s3cret-pw" not in str(caught.value) and "s3cret-pw" not in repr(caught.value)
    assert "***@" in str(caught.value)
    with pytest.raises(ConfigurationError) as from_string:
        Agent(model=f"openai:m@{url}")
    assert "s3cret-pw" not in str(from_string.value)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(ConfigurationError) as from_env:
        OpenAIBackend("m")
    assert "s3cret-pw" not in str(from_env.value)


def test_a_base_url_with_a_port_that_is_not_a_number_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a valid URL"):
        OpenAIBackend("m", base_url="http://127.0.0.1:port/v1")

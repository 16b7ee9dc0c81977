"""Faults a real server cannot produce on demand, served over real HTTP on 127.0.0.1.

Each test checks how many attempts reached the server, that the waits between them followed the
server's Retry-After (small values), the final outcome, and (through the per-test timeout) that
nothing hangs.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

import pytest

from agentkit import Agent, tool
from agentkit.backends import ModelRequest, ModelResponse, TextDelta
from agentkit.backends.openai import (
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    ModelNotFoundError,
    OpenAIBackend,
    PermissionDeniedError,
    UnprocessableRequestError,
)
from agentkit.messages import UserMessage
from agentkit.retry import RetriesExhaustedError, RetryPolicy
from tests.integration.fake_openai_server import (
    Drop,
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


_OPTIONS: dict[str, Any] = {}


@pytest.fixture(params=["aiohttp", "httpx"], autouse=True)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fault test runs over both HTTP libraries the backend can use under the SDK."""
    monkeypatch.setitem(_OPTIONS, "http_transport", request.param)


# Backoff far longer than any Retry-After used here: a wait that ignored the header would show.
SLOW_BACKOFF = RetryPolicy(
    max_attempts=4, initial_backoff=5.0, max_backoff=5.0, jitter=0.0, max_total_wait=20
)
FAST_BACKOFF = RetryPolicy(max_attempts=4, initial_backoff=0.05, max_backoff=0.1, jitter=0.01)


def backend(url: str, **kwargs: Any) -> OpenAIBackend:
    kwargs.setdefault("retry", FAST_BACKOFF)
    kwargs = {**_OPTIONS, **kwargs}
    return OpenAIBackend("fake-model", base_url=url, api_key="sk-test-0123456789abcdef", **kwargs)


def ask(text: str = "hi") -> ModelRequest:
    return ModelRequest(messages=(UserMessage(content=text),))


async def collect(b: OpenAIBackend, request: ModelRequest) -> tuple[str, ModelResponse]:
    text, final = "", None
    async for item in b.stream(request):
        if isinstance(item, TextDelta):
            text += item.text
        else:
            final = item
    assert final is not None
    return text, final


async def test_429_waits_what_retry_after_says_in_seconds_and_ms() -> None:
    script = [
        error(429, "rate limited", {"Retry-After": "0.4"}),
        error(429, "rate limited", {"retry-after-ms": "250"}),
        Reply(body=completion("finally")),
    ]
    with serving(script) as server:
        response = await backend(server.base_url, retry=SLOW_BACKOFF).complete(ask())
    assert response.message.content == "finally"
    assert len(server.chat_requests) == 3
    first, second = server.gaps()
    assert 0.4 <= first < 1.5  # honoured 0.4 s, not the 5 s backoff
    assert 0.25 <= second < 1.5


async def test_retry_after_as_http_date_is_honoured() -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)  # 1-2 s ahead (1 s resolution)
    with serving([error(503, "busy", {"Retry-After": when}), Reply(body=completion("ok"))]) as server:
        response = await backend(server.base_url, retry=SLOW_BACKOFF).complete(ask())
    assert response.message.content == "ok"
    assert len(server.chat_requests) == 2
    assert 0.9 <= server.gaps()[0] < 3.0


async def test_runs_of_500_and_503_are_retried_with_backoff_then_succeed() -> None:
    script = [error(500), error(503), error(503), Reply(body=completion("up again"))]
    with serving(script) as server:
        response = await backend(server.base_url).complete(ask())
    assert response.message.content == "up again"
    assert len(server.chat_requests) == 4
    assert all(gap >= 0.05 for gap in server.gaps())  # waited the backoff each time


@pytest.mark.parametrize("status", [408, 409, 502, 504])
async def test_other_retryable_statuses(status: int) -> None:
    with serving([error(status, "transient"), Reply(body=completion("ok"))]) as server:
        response = await backend(server.base_url).complete(ask())
    assert response.message.content == "ok"
    assert len(server.chat_requests) == 2


async def test_a_run_of_503_longer_than_max_attempts_raises_retries_exhausted() -> None:
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.05, jitter=0.0)
    with serving([error(503, "overloaded")] * 5) as server, pytest.raises(RetriesExhaustedError) as caught:
        await backend(server.base_url, retry=policy).complete(ask())
    assert len(server.chat_requests) == 3
    assert caught.value.attempts == 3
    assert "503" in str(caught.value) and "overloaded" in str(caught.value)
    assert "max_attempts=3" in str(caught.value)


async def test_retry_after_beyond_the_wait_budget_gives_up_at_once() -> None:
    policy = RetryPolicy(max_attempts=5, max_total_wait=1.0)
    started = time.monotonic()
    with (
        serving([error(429, "quota", {"Retry-After": "30"})] * 2) as server,
        pytest.raises(RetriesExhaustedError) as caught,
    ):
        await backend(server.base_url, retry=policy).complete(ask())
    assert time.monotonic() - started < 2.0  # did not sleep 30 s
    assert len(server.chat_requests) == 1
    assert "asked to wait 30.0 s" in str(caught.value)


async def test_no_server_listening_is_retried_a_little_then_reported_as_refused() -> None:
    import socket

    from agentkit.backends.openai import ServerUnreachableError

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = RetryPolicy(max_attempts=6, initial_backoff=0.05, jitter=0.0)
    started = time.monotonic()
    with pytest.raises(ServerUnreachableError, match=r"was refused.*refused 3 times"):
        await backend(f"http://127.0.0.1:{port}/v1", retry=policy).complete(ask())
    assert time.monotonic() - started < 5


async def test_connection_dropped_before_the_reply_is_retried() -> None:
    with serving([Drop(), Reply(body=completion("second try"))]) as server:
        response = await backend(server.base_url).complete(ask())
    assert response.message.content == "second try"
    assert len(server.chat_requests) == 2


async def test_connection_dropped_mid_stream_resumes_without_repeating_text() -> None:
    full = "The quick brown fox jumps over the lazy dog."
    script = [Stream(text_stream(full, pieces=6), drop_after=3), Stream(text_stream(full, pieces=6))]
    with serving(script) as server:
        text, final = await collect(backend(server.base_url), ask())
    assert len(server.chat_requests) == 2
    assert text == full  # the first three pieces were not streamed twice
    assert final.message.content == full
    assert final.usage.output_tokens == 3  # from the final usage chunk


async def test_stream_that_ends_without_finish_reason_is_retried() -> None:
    truncated = Stream([chunk("Hel")], done=False)  # a clean close, but the reply never finished
    with serving([truncated, Stream(text_stream("Hello"))]) as server:
        text, final = await collect(backend(server.base_url), ask())
    assert len(server.chat_requests) == 2
    assert text == "Hello" and final.message.content == "Hello"


async def test_a_reply_slower_than_the_timeout_is_abandoned_and_retried() -> None:
    started = time.monotonic()
    with serving([Reply(body=completion("late"), delay=5.0), Reply(body=completion("quick"))]) as server:
        response = await backend(server.base_url, timeout=0.3).complete(ask())
    assert response.message.content == "quick"
    assert len(server.chat_requests) == 2
    assert time.monotonic() - started < 3.0


async def test_timeouts_on_every_attempt_raise_retries_exhausted_naming_the_timeout() -> None:
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.01, jitter=0.0)
    with (
        serving([Reply(body=completion("late"), delay=5.0)] * 2) as server,
        pytest.raises(RetriesExhaustedError, match="timed out"),
    ):
        await backend(server.base_url, timeout=0.3, retry=policy).complete(ask())
    assert len(server.chat_requests) == 2


async def test_a_body_that_is_not_json_raises_a_typed_error_without_retrying() -> None:
    with (
        serving([Reply(body=b"<html><body>Welcome to nginx!</body></html>")]) as server,
        pytest.raises(InvalidResponseError, match="not JSON") as caught,
    ):
        await backend(server.base_url).complete(ask())
    assert len(server.chat_requests) == 1
    assert "base URL" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error_type", "hint"),
    [
        (400, BadRequestError, "tool_choice"),
        (401, AuthenticationError, "OPENAI_API_KEY"),
        (403, PermissionDeniedError, "permissions"),
        (404, ModelNotFoundError, "base URL"),
        (422, UnprocessableRequestError, "refused"),
    ],
)
async def test_client_errors_are_not_retried_and_say_what_to_fix(
    status: int, error_type: type[Exception], hint: str
) -> None:
    key = "sk-test-0123456789abcdef"
    echo = f"Incorrect API key provided: {key}. Also {key[:14]}..."
    with serving([error(status, echo)]) as server, pytest.raises(error_type) as caught:
        await backend(server.base_url).complete(ask())
    assert len(server.chat_requests) == 1
    message = str(caught.value)
    assert f"HTTP {status}" in message and hint in message
    assert key not in message and key[:14] not in message
    assert server.chat_requests[0].headers["authorization"] == f"Bearer {key}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def test_tool_arguments_repaired_when_possible_else_sent_back_as_an_error() -> None:
    script = [
        Reply(body=completion(None, [tool_call("call_fix", "add", '{"a": 1, "b": 2,}')])),
        Reply(body=completion(None, [tool_call("call_bad", "add", "a is one and b is two")])),
        Reply(body=completion("The sum is 3.")),
    ]
    with serving(script) as server:
        result = await Agent(model=backend(server.base_url), tools=[add]).arun("1 + 2?")
    assert result.output == "The sum is 3."
    assert len(server.chat_requests) == 3
    second = server.chat_requests[1].body
    third = server.chat_requests[2].body
    assert second is not None and third is not None
    repaired = second["messages"][-1]
    assert repaired == {"role": "tool", "tool_call_id": "call_fix", "content": "3"}
    sent_back = third["messages"][-1]
    assert sent_back["role"] == "tool" and sent_back["tool_call_id"] == "call_bad"
    assert "not valid JSON" in sent_back["content"]
    # The broken call goes back exactly as the model wrote it, paired to its id.
    assert third["messages"][-2]["tool_calls"][0]["function"]["arguments"] == "a is one and b is two"


async def test_cancelling_a_stream_closes_the_http_connection() -> None:
    slow = Stream([chunk(f"word{i} ") for i in range(100)] + [chunk(finish="stop")], delay=0.05)
    with serving([slow]) as server:
        b = backend(server.base_url)
        stream = b.stream(ask())
        got = [await anext(stream), await anext(stream)]
        assert all(isinstance(item, TextDelta) for item in got)
        await stream.aclose()
        deadline = time.monotonic() + 3
        while server.disconnects == 0 and time.monotonic() < deadline:  # noqa: ASYNC110 - other thread
            await asyncio.sleep(0.05)
        assert server.disconnects == 1
    assert len(server.chat_requests) == 1


async def test_cancelling_the_task_of_a_request_closes_it_quickly() -> None:
    with serving([Reply(body=completion("never"), delay=10.0)]) as server:
        task = asyncio.ensure_future(backend(server.base_url).complete(ask()))
        await asyncio.sleep(0.3)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1.0
    assert len(server.chat_requests) == 1


async def test_a_cancelled_streaming_run_closes_the_http_stream() -> None:
    from agentkit.cancellation import CancellationToken
    from agentkit.events import FinalOutput, ModelTextDelta

    slow = Stream([chunk(f"word{i} ") for i in range(200)] + [chunk(finish="stop")], delay=0.05)
    token = CancellationToken()
    with serving([slow]) as server:
        events = []
        async for event in Agent(model=backend(server.base_url)).run_stream("talk", cancel=token):
            events.append(event)
            if sum(isinstance(e, ModelTextDelta) for e in events) == 2:
                token.cancel()
        deadline = time.monotonic() + 3
        while server.disconnects == 0 and time.monotonic() < deadline:  # noqa: ASYNC110 - other thread
            await asyncio.sleep(0.05)
        assert server.disconnects == 1
    final = events[-1]
    assert isinstance(final, FinalOutput) and final.result.stop_reason == "cancelled"
    assert sum(isinstance(e, ModelTextDelta) for e in events) <= 3

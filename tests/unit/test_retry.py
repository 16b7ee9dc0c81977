"""The retry policy on its own: Retry-After parsing, backoff bounds, budgets, what is retried."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from agentkit.errors import BackendError, ConfigurationError
from agentkit.retry import RetriesExhaustedError, RetryPolicy, TransientError, parse_retry_after


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "200", "Retry-After": "9"}, 0.2),  # the precise one wins
        ({"retry-after-ms": "junk", "Retry-After": "2"}, 2.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=now) == 0.0


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=4.0, jitter=0.25)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 4.0)]:
        waits = [policy.backoff(attempt) for _ in range(50)]
        assert all(base <= w <= base + 0.25 for w in waits)
        assert len(set(waits)) > 1  # jittered


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"max_total_wait": -1}, {"jitter": -0.1}, {"initial_backoff": float("nan")}],
)
def test_invalid_policies_are_configuration_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


async def test_only_transient_errors_are_retried() -> None:
    calls = 0

    async def permanent() -> None:
        nonlocal calls
        calls += 1
        raise BackendError("bad key")

    with pytest.raises(BackendError, match="bad key"):
        await RetryPolicy(initial_backoff=0).call(permanent)
    assert calls == 1


async def test_transient_errors_are_retried_until_success_and_reported() -> None:
    seen: list[tuple[int, float]] = []
    outcomes: list[Exception | str] = [TransientError("a", retry_after=0.01), TransientError("b"), "ok"]

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = RetryPolicy(initial_backoff=0.02, jitter=0.0)
    result = await policy.call(attempt, on_retry=lambda n, wait, _e: seen.append((n, wait)))
    assert result == "ok"
    assert seen == [(1, 0.01), (2, 0.04)]  # the server's wait, then backoff for attempt 2


async def test_exhaustion_says_how_often_and_why() -> None:
    async def attempt() -> None:
        raise TransientError("HTTP 503: busy", status=503)

    policy = RetryPolicy(max_attempts=3, initial_backoff=0.0, jitter=0.0)
    with pytest.raises(RetriesExhaustedError) as caught:
        await policy.call(attempt, what="test call")
    assert caught.value.attempts == 3
    assert isinstance(caught.value.last_error, TransientError)
    assert "test call failed after 3 attempts" in str(caught.value) and "busy" in str(caught.value)


async def test_the_total_wait_is_bounded() -> None:
    async def attempt() -> None:
        raise TransientError("slow down")

    policy = RetryPolicy(
        max_attempts=100, initial_backoff=0.05, max_backoff=0.05, jitter=0.0, max_total_wait=0.2
    )
    started = time.monotonic()
    with pytest.raises(RetriesExhaustedError) as caught:
        await policy.call(attempt)
    assert time.monotonic() - started < 1.0
    assert caught.value.waited <= 0.2 + 1e-9
    assert caught.value.attempts == 5  # 4 waits of 0.05 s fit in 0.2 s


async def test_a_stream_is_retried_and_a_closed_consumer_is_not_swallowed() -> None:
    starts = 0

    async def attempt() -> object:
        nonlocal starts
        starts += 1
        yield "first"
        if starts == 1:
            raise TransientError("dropped")
        yield "second"

    policy = RetryPolicy(initial_backoff=0.0, jitter=0.0)
    assert [x async for x in policy.stream(attempt)] == ["first", "first", "second"]

    starts = 1  # no failure this time; the consumer stops early
    stream = policy.stream(attempt)
    assert await anext(stream) == "first"
    await stream.aclose()  # must not be treated as a failure to retry
    assert starts == 2


async def test_cancellation_during_a_wait_is_not_retried() -> None:
    async def attempt() -> None:
        raise TransientError("busy", retry_after=10)

    task = asyncio.ensure_future(RetryPolicy(max_total_wait=60).call(attempt))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

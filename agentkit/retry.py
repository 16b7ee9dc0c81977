"""One retry policy for every model call, built on tenacity.

A backend translates each failure into either a :class:`TransientError` (worth retrying: rate limits,
overload, server errors, dropped connections, timeouts) or a permanent, typed
:class:`~agentkit.errors.BackendError` that is raised at once. :class:`RetryPolicy` retries only the
transient ones, waiting what the server asked for (``Retry-After`` in seconds or as an HTTP date,
``retry-after-ms``) or else an exponential backoff with jitter, within a bounded number of attempts
and a bounded total wait. When the budget runs out it raises :class:`RetriesExhaustedError`, which
says how often and how long it tried and what the last failure was.

Keeping this in one place (and switching SDK retries off) means there is exactly one policy to reason
about: no hidden retries multiplying each other's waits.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from agentkit.errors import ConfigurationError, RetriesExhaustedError, TransientError

if TYPE_CHECKING:
    from tenacity import AsyncRetrying, RetryError

T = TypeVar("T")

__all__ = ["RetriesExhaustedError", "RetryPolicy", "TransientError", "parse_retry_after"]

logger = logging.getLogger("agentkit.retry")


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Returns ``None`` when neither header is present or parseable; never a negative number.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value)
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        value = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, value) if math.isfinite(value) else None


OnRetry = Callable[[int, float, TransientError], None]
"""Called before each wait with the failed attempt's number, the wait in seconds and the error."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How transient model-call failures are retried.

    Args:
        max_attempts: attempts in all, the first included (1 disables retrying).
        max_total_wait: seconds of waiting between attempts, summed, before giving up. A server's
            ``Retry-After`` longer than what is left ends the retries at once rather than hanging.
        initial_backoff: wait before the second attempt when the server gave no ``Retry-After``;
            it doubles with each further attempt, up to ``max_backoff``.
        max_backoff: the longest single backoff wait.
        jitter: up to this many seconds are added at random to each backoff wait, so many clients
            that failed together do not retry together.
        honour_retry_after: wait what the server asked for (``Retry-After``/``retry-after-ms``).
    """

    max_attempts: int = 6
    max_total_wait: float = 120.0
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5
    honour_retry_after: bool = True
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(f"RetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")
        for name in ("max_total_wait", "initial_backoff", "max_backoff", "jitter"):
            value = getattr(self, name)
            if not value >= 0:
                raise ConfigurationError(f"RetryPolicy.{name} must be >= 0, got {value!r}")

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based) when the server gave none."""
        base = min(self.max_backoff, self.initial_backoff * 2.0 ** (attempt - 1))
        return base + self._random.uniform(0.0, self.jitter)

    async def call(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        what: str = "model call",
        on_retry: OnRetry | None = None,
    ) -> T:
        """Await ``attempt()`` until it succeeds, raises a non-transient error, or the budget is spent.

        ``on_retry(attempt_number, wait_seconds, error)`` is called before each wait (for logging).
        """
        from tenacity import RetryError

        retrying = self._retrying(what, on_retry)
        try:
            async for try_ in retrying:
                with try_:
                    return await attempt()
        except RetryError as exc:
            raise self._exhausted(what, retrying, exc) from exc.last_attempt.exception()
        raise AssertionError("unreachable: tenacity ended without a result")  # pragma: no cover

    async def stream(
        self,
        attempt: Callable[[], AsyncIterator[T]],
        *,
        what: str = "model stream",
        on_retry: OnRetry | None = None,
    ) -> AsyncIterator[T]:
        """Iterate ``attempt()``, starting it again (same budget as :meth:`call`) when it fails with a
        transient error, possibly after yielding some items (callers decide how to resume)."""
        from tenacity import RetryError

        retrying = self._retrying(what, on_retry)
        try:
            async for try_ in retrying:
                aborted: BaseException | None = None
                with try_:
                    try:
                        async for item in attempt():
                            yield item
                    except (GeneratorExit, asyncio.CancelledError) as exc:
                        aborted = exc  # the consumer stopped: no retry, no swallowing
                if aborted is not None:
                    raise aborted
        except RetryError as exc:
            raise self._exhausted(what, retrying, exc) from exc.last_attempt.exception()

    def _retrying(self, what: str, on_retry: OnRetry | None) -> AsyncRetrying:
        from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

        def wait(state: RetryCallState) -> float:
            error = _transient(state)
            if self.honour_retry_after and error.retry_after is not None:
                return error.retry_after
            return self.backoff(state.attempt_number)

        def stop(state: RetryCallState) -> bool:
            return (
                state.attempt_number >= self.max_attempts
                or state.idle_for + state.upcoming_sleep > self.max_total_wait
            )

        def before_sleep(state: RetryCallState) -> None:
            error = _transient(state)
            logger.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.2f s",
                what,
                state.attempt_number,
                self.max_attempts,
                error,
                state.upcoming_sleep,
            )
            if on_retry is not None:
                on_retry(state.attempt_number, state.upcoming_sleep, error)

        return AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            wait=wait,
            stop=stop,
            before_sleep=before_sleep,
            sleep=asyncio.sleep,
            reraise=False,
        )

    def _exhausted(self, what: str, retrying: AsyncRetrying, exc: RetryError) -> RetriesExhaustedError:
        state = exc.last_attempt
        last = state.exception()
        assert isinstance(last, TransientError)
        attempts = state.attempt_number
        waited = float(retrying.statistics.get("idle_for", 0.0))
        if attempts < self.max_attempts and last.retry_after is not None:
            reason = (
                f"{attempts} attempts: the server asked to wait {last.retry_after:.1f} s, more than the "
                f"{self.max_total_wait - waited:.1f} s left of max_total_wait={self.max_total_wait:g}"
            )
        else:
            reason = f"{attempts} attempts (max_attempts={self.max_attempts})"
        return RetriesExhaustedError(
            f"{what} failed after {reason}, {waited:.1f} s spent waiting; last error: {last}. "
            "The server is overloaded, rate-limiting or unreachable: try again later, lower the "
            "request rate, or raise RetryPolicy(max_attempts=..., max_total_wait=...).",
            attempts=attempts,
            waited=waited,
            last_error=last,
        )


def _transient(state: object) -> TransientError:
    outcome = getattr(state, "outcome", None)
    error = outcome.exception() if outcome is not None else None
    assert isinstance(error, TransientError)
    return error

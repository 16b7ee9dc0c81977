"""One task, start to finish, the same on every engine: open its session in the journal, run (or resume)
the agent, retry what is worth retrying, and turn whatever happened into a :class:`BatchResult`.

Nothing a task does escapes as an exception (cancellation aside): a failing task is a result with an
error, so one bad task never stops a batch.

Task-level retries follow the agent's :class:`~agentkit.retry.RetryPolicy` settings (attempts, backoff,
``Retry-After``, total wait) and apply only to failures outside the task's own control: the model
server (a :class:`~agentkit.retry.TransientError`, or the backend's own retries exhausted) and the
journal's connection. Each retry resumes from the journal, so finished tool calls are not run again.
When the retries run out, the error is *resumable*: the result is not final and a rerun of the batch
resumes the task. Limits, tool errors the model could not fix, and configuration errors are final.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from agentkit.batch.task import BatchResult, Task, TaskError
from agentkit.errors import RunLimitExceeded, SessionBusyError, SessionError
from agentkit.messages import ToolMessage
from agentkit.retry import RetriesExhaustedError, RetryPolicy, TransientError

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.result import RunResult
    from agentkit.sessions.base import Session

AgentSource: TypeAlias = "Agent[Any, Any] | Callable[[], Agent[Any, Any]]"
"""An agent, or a function that builds one (called once per worker: a local model loads once)."""

MAX_ERROR_CHARS = 2000


def build_agent(source: Any) -> Agent[Any, Any]:
    """The agent ``source`` names: itself, or what the factory returns."""
    from agentkit.agent import Agent
    from agentkit.errors import ConfigurationError

    agent = source if isinstance(source, Agent) else source()
    if not isinstance(agent, Agent):
        raise ConfigurationError(f"the agent factory returned {type(agent).__name__}, not an Agent")
    return agent


class JournalUnavailable(SessionError):
    """The journal's store could not be reached or written (a database restart, a lost connection)."""


class TaskJournal(Protocol):
    """Where each task's conversation is journaled, as one engine worker sees it."""

    def session_id(self, task: Task) -> str:
        """The id of the task's conversation in the journal."""
        ...

    async def open(self, task: Task) -> tuple[Session, bool]:
        """The task's session, and whether it already holds this task's run (resume it)."""
        ...

    async def release(self, task: Task, session: Session) -> None:
        """This attempt is over: make its appends durable, free what ``open`` took (raises a
        :class:`JournalUnavailable` when the appends cannot be made durable)."""
        ...


class MemorySession:
    """A session kept in memory: without a journal, a retried task still resumes where it stopped."""

    def __init__(self, session_id: str) -> None:
        self._id = session_id
        self._messages: list[Any] = []
        self._answered: set[str] = set()
        self._children: dict[str, MemorySession] = {}

    @property
    def session_id(self) -> str:
        return self._id

    def load(self) -> list[Any]:
        return list(self._messages)

    def append(self, message: Any) -> None:
        if isinstance(message, ToolMessage):  # one result per call, as the durable stores keep it
            if message.tool_call_id in self._answered:
                return
            self._answered.add(message.tool_call_id)
        self._messages.append(message)

    def __len__(self) -> int:
        return len(self._messages)

    def lease(self, owner: str | None = None) -> contextlib.AbstractContextManager[object]:
        """Nothing to hold: the session lives in one task's memory."""
        return contextlib.nullcontext()

    def child(self, key: str) -> MemorySession:
        """A child agent's session, kept with this one (a retried task finds it where it stopped)."""
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = MemorySession(f"{self._id}/{key}")
        return found


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """How every task of a batch runs (picklable: it travels to Ray workers)."""

    retry: RetryPolicy | None = field(default_factory=lambda: RetryPolicy(max_attempts=3))
    keep_messages: bool = False
    worker: str | None = None


def _journal_failure(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the journal's store was unreachable or busy."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, JournalUnavailable | SessionBusyError):
            return True
        kind = type(seen)
        module = kind.__module__
        if module == "sqlite3" and kind.__name__ == "OperationalError":
            return True
        if module.startswith("psycopg") and kind.__name__ in ("OperationalError", "InterfaceError"):
            return True
        if module.startswith("ray.") and kind.__name__ in ("RayActorError", "ActorDiedError"):
            return True
        seen = seen.__cause__
    return False


def retry_kind(error: BaseException) -> str | None:
    """``model`` or ``journal`` for failures a later attempt may not see; ``None`` for final ones."""
    if isinstance(error, TransientError | RetriesExhaustedError):
        return "model"
    if _journal_failure(error):
        return "journal"
    return None


def task_error(error: BaseException, *, resumable: bool = False) -> TaskError:
    from agentkit.tracing.redact import Redactor

    message = str(error) or type(error).__name__
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 1] + "…"
    return TaskError(type(error).__name__, Redactor().text(message), resumable)


def _wait_before(policy: RetryPolicy, attempt: int, error: BaseException) -> float:
    if isinstance(error, SessionBusyError) and error.expires_in is not None:
        # Another runner's lease (a worker that died elsewhere) ends by itself: wait for it.
        return max(0.0, error.expires_in) + policy.backoff(1)
    retry_after = getattr(error, "retry_after", None)
    if policy.honour_retry_after and isinstance(retry_after, int | float):
        return float(retry_after)
    return policy.backoff(attempt)


def _result(
    task: Task,
    run: RunResult[Any] | None,
    options: TaskOptions,
    *,
    started: float,
    attempts: int,
    resumed: bool,
    session: str | None,
    error: TaskError | None = None,
) -> BatchResult:
    if run is None:
        return BatchResult(
            task_id=task.id,
            stop_reason="error",
            error=error,
            duration=time.perf_counter() - started,
            metadata=task.metadata,
            session=session,
            attempts=attempts,
            resumed=resumed,
            worker=options.worker,
        )
    return BatchResult(
        task_id=task.id,
        output=run.output,
        text=run.text,
        stop_reason=run.stop_reason,
        steps=run.steps,
        usage=run.usage,
        error=error,
        duration=time.perf_counter() - started,
        metadata=task.metadata,
        session=session,
        attempts=attempts,
        resumed=resumed,
        worker=options.worker,
        messages=tuple(run.messages) if options.keep_messages else None,
    )


async def _attempt(
    agent: Agent[Any, Any], task: Task, journal: TaskJournal | None, memory: MemorySession
) -> tuple[RunResult[Any], str, bool]:
    """One try at the task: (the run's result, its session id, whether it resumed a journaled run)."""
    if journal is None:
        session: Session = memory
        resume = len(memory) > 0
    else:
        session, resume = await journal.open(task)
    try:
        run = await agent.arun(None if resume else task.prompt, session=session)
    except BaseException:
        if journal is not None:
            with contextlib.suppress(Exception):  # the run's own error is the one to report
                await journal.release(task, session)
        raise
    if journal is not None:
        await journal.release(task, session)  # failing here is a journal failure: retried, resumed
    return run, session.session_id, resume


async def run_task(
    agent: Agent[Any, Any], task: Task, journal: TaskJournal | None, options: TaskOptions
) -> BatchResult:
    """Run ``task`` to a result; never raises except ``asyncio.CancelledError``.

    Without a ``journal`` the conversation is kept in memory for the task's retries only.
    """
    started = time.perf_counter()
    policy = options.retry
    memory = MemorySession(task.session or task.id)
    attempts = 0
    waited = 0.0
    resumed = False
    session_id = journal.session_id(task) if journal is not None else None

    def result(run: RunResult[Any] | None, error: TaskError | None = None) -> BatchResult:
        return _result(
            task, run, options, started=started, attempts=attempts, resumed=resumed, session=session_id,
            error=error,
        )  # fmt: skip

    while True:
        attempts += 1
        try:
            run, _, resumed = await _attempt(agent, task, journal, memory)
            return result(run)
        except asyncio.CancelledError:
            raise
        except RunLimitExceeded as exc:
            return result(exc.result, task_error(exc))
        except Exception as exc:  # noqa: BLE001 - every failure becomes the task's result
            kind = retry_kind(exc)
            if kind is None:
                return result(None, task_error(exc))
            wait = _wait_before(policy, attempts, exc) if policy is not None else 0.0
            if policy is None or attempts >= policy.max_attempts or waited + wait > policy.max_total_wait:
                return result(None, task_error(exc, resumable=True))
            waited += wait
            await asyncio.sleep(wait)

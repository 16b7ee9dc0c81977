"""What runs inside Ray: the worker actor that runs tasks, and the journal actor that owns an SQLite
journal for workers that cannot reach the file.

These are plain classes; :mod:`agentkit.batch.ray_engine` makes them Ray actors at run time, so this
module imports without Ray.

Where the journal lives on Ray (see docs/batch.md):

- ``--journal postgresql://...``: every worker journals straight to PostgreSQL, which every machine
  of the cluster can reach. This is the one for real clusters.
- an SQLite file: the file is on the driver's machine, so one :class:`JournalActor`, pinned to the
  driver's node, owns it and journals what the workers send it. A worker's appends are sent without
  waiting (Ray runs one caller's calls to an actor in the order they were made) and are awaited
  before the task's result is returned, so a result never exists before its journal does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentkit.batch.runner import JournalUnavailable, TaskOptions, build_agent, run_task
from agentkit.batch.task import BatchResult, Task

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.batch.journal import SQLiteJournal
    from agentkit.batch.runner import TaskJournal
    from agentkit.messages import Message
    from agentkit.sessions.base import Session

COALESCE_SECONDS = 0.002

JournalSpec = tuple[str, Any, str] | None
"""How a worker reaches the journal: ``("postgres", url, batch_id)``, ``("actor", handle, batch_id)``
or ``None`` (conversations in memory)."""


def _is_ray_failure(error: BaseException) -> bool:
    return type(error).__module__.startswith("ray.")


class JournalActor:
    """Owns an SQLite journal on the driver's machine; workers open, append and release through it."""

    def __init__(self, location: str, batch_id: str, durable: bool) -> None:
        from agentkit.batch.journal import SQLiteJournal

        self.journal: SQLiteJournal = SQLiteJournal(location, batch_id, durable=durable)
        self.sessions: dict[str, tuple[Session, AbstractContextManager[object]]] = {}

    def open(self, task: Task, worker: str) -> tuple[list[Message], bool]:
        """Open the task's session and hold its lease for the worker (until :meth:`release`)."""
        session_id = self.journal.session_id(task)
        self.release(session_id)  # a retried task whose worker died: its old handle is stale
        session, resume = self.journal.open_now(task)
        lease = session.lease(f"agentkit batch, for worker {worker}")
        try:
            lease.__enter__()
        except BaseException:
            _close(session)
            raise
        self.sessions[session_id] = (session, lease)
        return session.load(), resume

    def open_child(self, session_id: str, key: str) -> list[Message]:
        """Open the child session of an open one (an agent used as a tool) and hold it with it."""
        held = self.sessions.get(session_id)
        if held is None:
            raise JournalUnavailable(f"session {session_id!r} is not open in the journal actor")
        child = held[0].child(key)
        if child.session_id not in self.sessions:
            lease = child.lease(f"agentkit batch, child of {session_id}")
            lease.__enter__()
            self.sessions[child.session_id] = (child, lease)
        return self.sessions[child.session_id][0].load()

    def append(self, session_id: str, message: Message) -> None:
        held = self.sessions.get(session_id)
        if held is None:
            raise JournalUnavailable(f"session {session_id!r} is not open in the journal actor")
        held[0].append(message)

    def release(self, session_id: str) -> None:
        for child in [key for key in self.sessions if key.startswith(session_id + "/")]:
            self.release(child)
        held = self.sessions.pop(session_id, None)
        if held is not None:
            session, lease = held
            try:
                lease.__exit__(None, None, None)
            finally:
                _close(session)


def _close(session: Session) -> None:
    close = getattr(session, "close", None)
    if close is not None:
        close()


class RemoteSession:
    """A worker's view of a conversation the journal actor keeps: the history as it was at open, and
    appends sent on without waiting (``pending``), awaited when the attempt ends."""

    def __init__(self, actor: Any, session_id: str, history: list[Message]) -> None:
        self._actor = actor
        self._id = session_id
        self._history = history
        self.pending: list[Any] = []

    @property
    def session_id(self) -> str:
        return self._id

    def load(self) -> list[Message]:
        return list(self._history)

    def append(self, message: Message) -> None:
        self._history.append(message)
        self.pending.append(self._actor.append.remote(self._id, message))

    def lease(self, owner: str | None = None) -> AbstractContextManager[object]:
        """The journal actor holds the session's lease for this worker from open to release."""
        return contextlib.nullcontext()

    def child(self, key: str) -> RemoteSession:
        """A child agent's session, opened (and held) by the journal actor beside this one."""
        import ray

        history = ray.get(self._actor.open_child.remote(self._id, key))
        child = RemoteSession(self._actor, f"{self._id}/{key}", history)
        child.pending = self.pending  # one list: the attempt's end awaits the child's appends too
        return child


class RemoteJournal:
    """A :class:`~agentkit.batch.runner.TaskJournal` on a worker, backed by a :class:`JournalActor`."""

    def __init__(self, actor: Any, batch_id: str, worker: str) -> None:
        self._actor = actor
        self.batch_id = batch_id
        self.worker = worker

    def session_id(self, task: Task) -> str:
        from agentkit.batch.journal import session_id_for

        return session_id_for(self.batch_id, task)

    async def open(self, task: Task) -> tuple[Session, bool]:
        try:
            history, resume = await self._actor.open.remote(task, self.worker)
        except Exception as exc:
            if _is_ray_failure(exc):
                raise JournalUnavailable(f"the journal actor failed: {exc}") from exc
            raise
        return RemoteSession(self._actor, self.session_id(task), history), resume

    async def release(self, task: Task, session: Session) -> None:
        assert isinstance(session, RemoteSession)
        pending, session.pending = session.pending, []
        try:
            await asyncio.gather(*pending)
            await self._actor.release.remote(session.session_id)
        except Exception as exc:
            if _is_ray_failure(exc) or isinstance(exc, JournalUnavailable):
                raise JournalUnavailable(f"journaling to the driver failed: {exc}") from exc
            raise


def worker_journal(spec: JournalSpec, worker: str) -> TaskJournal | None:
    if spec is None:
        return None
    kind, target, batch_id = spec
    if kind == "actor":
        return RemoteJournal(target, batch_id, worker)
    from agentkit.batch.stores import open_journal

    return open_journal(target, batch_id)


class BatchWorker:
    """A long-lived worker: builds the agent once (a local model loads once per worker), then runs
    many tasks at a time on its event loop. Ray restarts it when its process dies; the driver sends the
    tasks it had not reported again, and they resume from the journal."""

    def __init__(self, agent: Any, journal: JournalSpec, options: TaskOptions) -> None:
        self._source = agent
        self._journal_spec = journal
        self._journal: TaskJournal | None = None
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._options = replace(options, worker=self.name)
        self._agent: Agent[Any, Any] | None = None
        self._lock: asyncio.Lock | None = None

    async def _ready(self) -> Agent[Any, Any]:
        if self._agent is not None:
            return self._agent
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._agent is None:
                from agentkit.batch.local import prepare

                agent = build_agent(self._source)
                await prepare(agent)
                self._journal = worker_journal(self._journal_spec, self.name)
                self._agent = agent
        return self._agent

    async def ready(self) -> str | None:
        """Build the agent (and load its model) now; the error's text if that fails."""
        try:
            await self._ready()
        except Exception as exc:  # noqa: BLE001 - reported by the driver as a configuration error
            return f"{type(exc).__name__}: {exc}"
        return None

    async def run_chunk(self, tasks: list[Task]) -> AsyncIterator[list[BatchResult]]:
        """Run ``tasks`` at once and yield their results as they finish (a Ray streaming generator).

        Results that finish within ``COALESCE_SECONDS`` of each other travel together: each yield
        costs Ray about a millisecond of CPU whatever it carries, so under a high rate of short tasks
        one yield carries several results, while a lone slow task is reported on its own.
        """
        agent = await self._ready()
        pending = {
            asyncio.ensure_future(run_task(agent, task, self._journal, self._options)) for task in tasks
        }
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if pending:
                    await asyncio.sleep(COALESCE_SECONDS)
                    late = {future for future in pending if future.done()}
                    done |= late
                    pending -= late
                yield [future.result() for future in done]
        finally:
            for future in pending:
                future.cancel()

"""The Ray engine: the same tasks, spread over the actors of a Ray cluster.

    from agentkit.batch import Batch
    from agentkit.batch.ray_engine import RayEngine

    batch = Batch(make_agent, engine=RayEngine(address="auto"), concurrency=256,
                  journal="postgresql://batch@db/agents", out="results.jsonl")

Ray does the scheduling, placement, restarts and retries; this module only decides what to ask of
it. ``workers`` long-lived actors (by default one per CPU of the cluster) each build the agent once
and run many tasks at a time on their event loop. The driver keeps at most ``concurrency`` tasks out,
sent in chunks and streamed back as they finish (:mod:`agentkit.batch.ray_dispatch`), pulling tasks
from the (lazy) task stream only as results come back, so a million tasks never sit in memory or in
Ray's object store. Results arrive in completion order. When a worker's process dies, Ray restarts
the actor (``max_restarts=-1``) and the driver sends the tasks it had not reported again; they resume
from the journal. A task whose worker died more often than ``task_retries`` comes back with a
resumable error.

Ray is an optional extra (``pip install 'agentkit[ray]'``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

from agentkit.batch.journal import SQLiteJournal, is_postgres
from agentkit.batch.ray_actors import BatchWorker, JournalActor, JournalSpec
from agentkit.batch.ray_dispatch import Dispatcher
from agentkit.batch.runner import AgentSource, TaskJournal, TaskOptions
from agentkit.batch.task import BatchResult, Task
from agentkit.errors import ConfigurationError

INSTALL_HINT = "the Ray engine needs Ray: pip install 'agentkit[ray]'"
CONNECT_TIMEOUT = 5.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError(f"{INSTALL_HINT} ({exc})") from None
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """The host and port a Ray address names (``auto`` and ``local`` name none)."""
    bare = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = bare.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail fast with a clear message: ``ray.init`` itself retries an unreachable address for minutes."""
    target = _host_port(address)
    if target is None:
        return
    try:
        socket.create_connection(target, timeout=timeout).close()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; check --address, or "
            "leave it out to start a local Ray for this run"
        ) from None


_ERROR_LINE = re.compile(r"^\w*(Error|Exception)\b[^:]*: .+")


def ray_error_summary(error: BaseException) -> str:
    """The line of a (long, nested) Ray error that says what went wrong."""
    lines = [_ANSI.sub("", line).strip() for line in str(error).splitlines()]
    causes = [line for line in lines if _ERROR_LINE.match(line)]
    return causes[-1] if causes else (lines[0] if lines else type(error).__name__)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class RayEngine:
    """Tasks on Ray actors.

    Args:
        address: an existing cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``); ``None`` starts
            a local Ray for the run (or uses the one this process already started).
        workers: actors to start (default: one per CPU of the cluster).
        num_cpus: CPUs of a local Ray started for the run (default: all of this machine's).
        cpus_per_worker: CPUs Ray reserves for each actor (``0`` lets actors share CPUs).
        task_retries: how often a task whose worker died is sent again.
        chunk_size: tasks sent per call (default: a quarter of each worker's share of ``concurrency``,
            at most 16); see :mod:`agentkit.batch.ray_dispatch`.
        init_options: further keyword arguments for ``ray.init`` (``runtime_env``, ...).
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        num_cpus: int | None = None,
        cpus_per_worker: float = 1.0,
        task_retries: int = 3,
        chunk_size: int | None = None,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise ConfigurationError(f"workers must be at least 1, got {workers}")
        self.address = address
        self.workers = workers
        self.num_cpus = num_cpus
        self.cpus_per_worker = cpus_per_worker
        self.task_retries = task_retries
        self.chunk_size = chunk_size
        self.init_options = dict(init_options or {})
        self._ray: Any = None
        self._started_ray = False
        self._actors: list[Any] = []

    def start(self) -> None:
        ray = import_ray()
        self._ray = ray
        if ray.is_initialized():
            return
        if self.address is not None:
            check_reachable(self.address)
        options: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.ERROR,
            "log_to_driver": False,
            **self.init_options,
        }
        if self.address is None:
            options.setdefault("num_cpus", self.num_cpus)
            # Workers of a local Ray share this machine's files: let them import what the driver can
            # (the agent factory's module included). A cluster gets its code through runtime_env.
            runtime_env = dict(options.get("runtime_env") or {})
            env_vars = dict(runtime_env.get("env_vars") or {})
            env_vars.setdefault("PYTHONPATH", os.pathsep.join(p or os.getcwd() for p in sys.path))
            options["runtime_env"] = {**runtime_env, "env_vars": env_vars}
        try:
            ray.init(address=self.address, **options)
        except Exception as exc:
            where = self.address or "a local Ray"
            raise ConfigurationError(f"cannot start or join {where}: {exc}") from exc
        self._started_ray = True

    def stop(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def _journal_spec(self, journal: TaskJournal | None) -> JournalSpec:
        if journal is None:
            return None
        location = getattr(journal, "location", None)
        batch_id = getattr(journal, "batch_id", None)
        if not isinstance(location, str) or not isinstance(batch_id, str):
            raise ConfigurationError("the Ray engine needs a journal given by location (a path or URL)")
        if is_postgres(location):
            return ("postgres", location, batch_id)
        ray = self._ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        durable = bool(getattr(journal, "durable", False)) if isinstance(journal, SQLiteJournal) else False
        actor = (
            ray.remote(JournalActor)
            .options(num_cpus=0, max_restarts=-1, max_task_retries=-1, scheduling_strategy=here)
            .remote(location, batch_id, durable)
        )
        self._actors.append(actor)
        return ("actor", actor, batch_id)

    def _worker_count(self) -> int:
        if self.workers is not None:
            return self.workers
        cpus = self._ray.cluster_resources().get("CPU", 1)
        per = self.cpus_per_worker or 1.0
        return max(1, int(cpus // per))

    async def _start_workers(
        self, agent: AgentSource, spec: JournalSpec, options: TaskOptions, concurrency: int
    ) -> list[Any]:
        count = self._worker_count()
        worker = self._ray.remote(BatchWorker).options(
            num_cpus=self.cpus_per_worker,
            max_concurrency=concurrency + 1,  # chunks at once, at most; tasks run on the actor's loop
            max_restarts=-1,  # Ray replaces a dead worker ...
            max_task_retries=0,  # ... and the driver sends its unreported tasks again (ray_dispatch)
        )
        actors = [worker.remote(agent, spec, options) for _ in range(count)]
        self._actors.extend(actors)
        try:
            errors = await asyncio.gather(*(actor.ready.remote() for actor in actors))
        except Exception as exc:
            raise ConfigurationError(f"the Ray workers could not start: {ray_error_summary(exc)}") from exc
        failed = next((e for e in errors if e is not None), None)
        if failed is not None:
            raise ConfigurationError(f"the agent could not be built on a Ray worker: {failed}")
        return actors

    async def results(
        self,
        agent: AgentSource,
        tasks: Iterator[Task],
        *,
        journal: TaskJournal | None,
        options: TaskOptions,
        concurrency: int,
    ) -> AsyncIterator[BatchResult]:
        if self._ray is None:
            self.start()
        actors = await self._start_workers(agent, self._journal_spec(journal), options, concurrency)
        chunk = self.chunk_size or max(1, min(16, concurrency // (4 * len(actors))))
        dispatcher = Dispatcher(
            actors,
            tasks,
            concurrency=concurrency,
            chunk_size=min(chunk, concurrency),
            task_retries=self.task_retries,
        )
        async for result in dispatcher.results():
            yield result

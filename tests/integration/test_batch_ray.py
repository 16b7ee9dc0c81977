"""The Ray engine on a real local Ray cluster (``ray.init(num_cpus=2)``): tasks spread over long-lived
actors that build the agent once, results in completion order, a worker killed with SIGKILL replaced
and its tasks resumed from the journal, the SQLite journal kept on the driver's node."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import ToolMessage
from agentkit.batch import Batch, Task, read_results
from agentkit.batch.ray_engine import RayEngine
from agentkit.sessions import list_sessions, session_from_url
from tests.integration.batch_agents import make_agent, make_slow_agent

ray = pytest.importorskip("ray", reason="the Ray engine is tested where the ray extra is installed")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    effects = tmp_path_factory.mktemp("ray") / "effects.log"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={
            "env_vars": {
                "PYTHONPATH": str(ROOT),
                "AGENTKIT_TEST_EFFECTS": str(effects),
                "AGENTKIT_TEST_BUILDS": str(effects.with_name("builds.log")),
                "AGENTKIT_TEST_MODEL_DELAY": "0.05",
            }
        },
    )
    yield effects
    ray.shutdown()


def effect_keys(effects: Path) -> list[tuple[str, str]]:
    if not effects.exists():
        return []
    return [tuple(line.rsplit(" ", 1)) for line in effects.read_text().splitlines()]  # type: ignore[misc]


def journaled_keys(journal: str) -> set[str]:
    """The keys of every tool result in the journal (the record tool returns its key)."""
    keys = set()
    for info in list_sessions(journal):
        session = session_from_url(journal, info.session_id, create=False)
        keys.update(m.content for m in session.load() if isinstance(m, ToolMessage))
        session.close()  # type: ignore[attr-defined]
    return keys


@pytest.fixture(params=["sqlite", "postgres"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An SQLite file (kept on the driver, written through the journal actor) or a PostgreSQL database
    (written by the workers themselves)."""
    if request.param == "sqlite":
        return str(tmp_path / "journal.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_a_batch_on_a_local_ray_cluster_uses_both_workers_and_journals(
    local_ray: Path, tmp_path: Path, journal: str
) -> None:
    out = tmp_path / "results.jsonl"
    prefix = "pg" if journal.startswith("postgresql") else "sq"  # the effects log is shared: keep apart
    pulled = 0

    def source() -> Iterator[Task]:
        nonlocal pulled
        for i in range(60):
            pulled += 1
            yield Task(f"a{i}", f"alpha {prefix} {i}" + (" broken" if i % 10 == 9 else ""))

    tasks = list(source())
    pulled = 0
    builds = local_ray.with_name("builds.log")
    builds.unlink(missing_ok=True)
    batch = Batch(make_agent, engine=RayEngine(), concurrency=8, out=str(out), journal=journal)
    results = []
    for result in batch.run(source()):
        results.append(result)
        assert pulled <= len(results) + 8 + 8  # backpressure: taken as results come back, not all at once
    assert Counter(r.task_id for r in results) == Counter(t.id for t in tasks)
    assert {r.task_id for r in results if not r.ok} == {f"a{i}" for i in range(9, 60, 10)}
    assert all(r.output == f"answer to alpha {prefix} {r.task_id[1:]}" for r in results if r.ok)
    workers = {r.worker for r in results}
    assert len(workers) == 2 and all(w and ":" in w for w in workers)  # both actors ran tasks
    built_in = builds.read_text().split()
    assert sorted(built_in) == sorted(w.rsplit(":", 1)[1] for w in workers)  # the agent: once per worker
    assert Counter(r.task_id for r in read_results(out)) == Counter(t.id for t in tasks)
    # The conversations reached the journal (through the journal actor, for SQLite).
    ok = [t for i, t in enumerate(tasks) if i % 10 != 9]
    assert journaled_keys(journal) >= {f"{t.prompt}#{s}" for t in ok for s in range(2)}
    ran = Counter(key for key, _ in effect_keys(local_ray) if key.startswith(f"alpha {prefix}"))
    assert set(ran.values()) == {1} and len(ran) == 2 * len(ok)
    again = Batch(make_agent, engine=RayEngine(), concurrency=8, out=str(out), journal=journal)
    assert list(again.run(tasks)) == [] and again.stats.skipped == 60  # a rerun skips them all


def test_a_killed_worker_is_replaced_and_every_task_finishes_once(
    local_ray: Path, tmp_path: Path, journal: str
) -> None:
    out = tmp_path / "results.jsonl"
    prefix = "pg" if journal.startswith("postgresql") else "sq"
    tasks = [Task(f"k{i}", f"kappa {prefix} {i}") for i in range(48)]
    batch = Batch(make_slow_agent, engine=RayEngine(), concurrency=12, out=str(out), journal=journal)
    snapshot: dict[str, Any] = {}

    async def run() -> list[Any]:
        results: list[Any] = []
        killer = asyncio.ensure_future(kill_a_worker_in_the_middle_of_a_task(results))
        try:
            async for result in batch.results(tasks):
                results.append(result)
        except BaseException:
            killer.cancel()
            raise
        await killer  # its AssertionError, when no worker was ever caught in the middle of a task
        return results

    async def kill_a_worker_in_the_middle_of_a_task(results: list[Any]) -> None:
        """From the third result on, kill a worker that has run a task's first tool call but not its
        second: that task is then certainly in the middle of its run, with a journal to resume from.
        Either worker will do. This watches beside the batch instead of stopping it: the first tasks
        start together and may all have finished by the third result, and only a batch that goes on
        pulling sends the tasks that a worker is caught in the middle of."""
        while len(results) < len(tasks):
            victim = worker_in_the_middle_of_a_task() if len(results) >= 3 else None
            if victim is not None:
                os.kill(victim, signal.SIGKILL)
                snapshot.update(victim=victim, journaled=journaled_keys(journal))
                snapshot["position"] = len(effect_keys(local_ray))
                return
            await asyncio.sleep(0.002)
        raise AssertionError("no worker was ever in the middle of a task")

    def worker_in_the_middle_of_a_task() -> int | None:
        by_worker: dict[int, set[str]] = {}
        for key, writer in effect_keys(local_ray):
            if key.startswith(f"kappa {prefix} "):
                by_worker.setdefault(int(writer), set()).add(key)
        for worker, keys in by_worker.items():
            if any(key.endswith("#0") and key[:-1] + "1" not in keys for key in keys):
                return worker
        return None

    results = asyncio.run(run())
    assert Counter(r.task_id for r in results) == Counter(t.id for t in tasks)  # each exactly once
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert Counter(r.task_id for r in read_results(out)) == Counter(t.id for t in tasks)
    workers = {int(r.worker.rsplit(":", 1)[1]) for r in results if r.worker}
    assert len(workers) >= 2 and any(r.resumed for r in results)  # a replacement resumed the killed tasks
    log = effect_keys(local_ray)
    rerun = snapshot["journaled"] & {key for key, _ in log[snapshot["position"] :]}
    assert not rerun, f"tool calls journaled before the kill ran again: {sorted(rerun)[:5]}"
    ran = Counter(key for key, _ in log if key.startswith(f"kappa {prefix}"))
    assert set(ran) == {f"{t.prompt}#{s}" for t in tasks for s in range(2)}
    # A call that ran twice was cut short by the kill: its first run was in the killed worker.
    pids = {}
    for key, pid in log:
        if ran[key] > 1 and key not in pids:
            pids[key] = int(pid)
    assert all(pid == snapshot["victim"] for pid in pids.values())


def test_a_factory_that_fails_on_the_workers_stops_the_batch_with_a_clear_error(
    local_ray: Path, tmp_path: Path
) -> None:
    from agentkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"could not be built on a Ray worker.*no such model"):
        list(Batch(_broken_factory, engine=RayEngine(), concurrency=2).run(["x"]))


def _broken_factory() -> Any:
    from agentkit.errors import ConfigurationError

    raise ConfigurationError("no such model")

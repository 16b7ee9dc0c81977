"""Batches journaled to a real PostgreSQL server (started by the test session): results and resume, an
unreachable server at start, and a server restarted in the middle of a batch."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentkit.batch import Batch, Task, read_results
from agentkit.batch.postgres_journal import PostgresJournal
from tests.integration.batch_agents import make_agent, make_slow_agent
from tests.integration.cli_helpers import run_cli
from tests.pg_server import PostgresServer, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "tests" / "integration" / "batch_agents.py"


@pytest.fixture
def effects(tmp_path: Path) -> Any:
    path = tmp_path / "effects.log"
    os.environ["AGENTKIT_TEST_EFFECTS"] = str(path)
    yield (
        lambda: (
            Counter(line.rsplit(" ", 1)[0] for line in path.read_text().splitlines())
            if path.exists()
            else Counter()
        )
    )
    del os.environ["AGENTKIT_TEST_EFFECTS"]


def test_a_batch_journaled_to_postgres_is_recovered_from_it(
    postgres_url: str, tmp_path: Path, effects: Any
) -> None:
    out = tmp_path / "results.jsonl"
    tasks = [Task(f"p{i}", f"pg {i}") for i in range(30)]
    results = list(Batch(make_agent, out=str(out), journal=postgres_url, concurrency=6).run(tasks))
    assert len(results) == 30 and all(r.ok for r in results)
    assert set(effects().values()) == {1}
    out.unlink()  # the results file is lost: the journal still has every result
    again = Batch(make_agent, out=str(out), journal=postgres_url, concurrency=6)
    assert list(again.run(tasks)) == [] and again.stats.recovered == 30
    assert Counter(r.task_id for r in read_results(out)) == Counter(t.id for t in tasks)
    assert set(effects().values()) == {1}  # recovered, not run again


def test_an_unreachable_postgres_at_start_exits_3_and_writes_nothing(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a", "prompt": "x"}\n')
    url = f"postgresql://agentkit@127.0.0.1:{free_port()}/postgres"
    done = run_cli(
        "batch", str(tasks), "--agent", f"{AGENTS}:make_agent", "--journal", url, PYTHONPATH=str(ROOT)
    )
    assert done.code == 3, done.stderr
    assert "cannot open the journal in PostgreSQL database 'postgres' at 127.0.0.1" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.jsonl"]


def test_a_postgres_restart_mid_batch_is_waited_out(
    postgres_server: PostgresServer, postgres_url: str, tmp_path: Path, effects: Any
) -> None:
    out = tmp_path / "results.jsonl"
    tasks = [Task(f"r{i}", f"restart {i}") for i in range(60)]
    os.environ["AGENTKIT_TEST_MODEL_DELAY"] = "0.03"
    batch = Batch(make_slow_agent, out=str(out), journal=postgres_url, concurrency=8)

    results: list[Any] = []
    back_after: list[int] = []

    async def run() -> None:
        async for result in batch.results(tasks):
            results.append(result)
            if len(results) == 10:  # the server crashes and comes back a second later, on its own
                restart.start()

    def crash_and_restart() -> None:
        postgres_server.stop("immediate")  # as a crash would
        time.sleep(1.0)
        postgres_server.start()
        back_after.append(len(results))

    restart = threading.Thread(target=crash_and_restart)

    try:
        asyncio.run(run())
    finally:
        restart.join()
        del os.environ["AGENTKIT_TEST_MODEL_DELAY"]
    assert Counter(r.task_id for r in results) == Counter(t.id for t in tasks)
    assert back_after[0] < 30  # most of the batch ran across and after the restart
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert Counter(r.task_id for r in read_results(out)) == Counter(t.id for t in tasks)


def test_a_postgres_down_longer_than_the_wait_leaves_resumable_tasks_for_a_rerun(
    postgres_server: PostgresServer, postgres_url: str, tmp_path: Path, effects: Any
) -> None:
    out = tmp_path / "results.jsonl"
    tasks = [Task(f"d{i}", f"down {i}") for i in range(40)]
    journal = PostgresJournal(postgres_url, "down", reconnect_timeout=1.0)
    batch = Batch(make_slow_agent, out=str(out), journal=journal, batch_id="down", concurrency=8, retry=None)

    async def run() -> list[Any]:
        results = []
        async for result in batch.results(tasks):
            results.append(result)
            if len(results) == 5:
                postgres_server.stop("immediate")
        return results

    os.environ["AGENTKIT_TEST_MODEL_DELAY"] = "0.03"
    try:
        results = asyncio.run(run())
    finally:
        postgres_server.start()
        del os.environ["AGENTKIT_TEST_MODEL_DELAY"]
        journal.close()
    interrupted = [r for r in results if not r.final]
    assert interrupted and all(r.error is not None and r.error.resumable for r in interrupted)
    written = {r.task_id for r in read_results(out)}
    assert not written & {r.task_id for r in interrupted}  # a resumable error is not a result
    rerun = Batch(make_slow_agent, out=str(out), journal=postgres_url, batch_id="down", concurrency=8)
    assert all(r.ok for r in rerun.run(tasks))
    assert Counter(r.task_id for r in read_results(out)) == Counter(t.id for t in tasks)
    ran = effects()
    assert set(ran) == {f"down {i}#{s}" for i in range(40) for s in range(2)}

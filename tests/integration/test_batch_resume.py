"""``agentkit batch`` killed with SIGKILL at random points, then rerun: no task lost, none written twice,
no tool call whose result was journaled run again; and the pieces of that guarantee one by one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agentkit import ToolMessage
from agentkit.batch import Batch, SQLiteJournal, Task, read_results
from agentkit.sessions import list_sessions, session_from_url
from tests.integration.batch_agents import make_agent
from tests.integration.cli_helpers import cli_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
AGENT = f"{ROOT / 'tests' / 'integration' / 'batch_agents.py'}:make_slow_agent"
TASKS = 300


def write_tasks(path: Path, count: int = TASKS) -> list[str]:
    ids = [f"t{i}" for i in range(count)]
    with path.open("w") as f:
        for i, task_id in enumerate(ids):
            f.write(json.dumps({"id": task_id, "prompt": f"job {i}", "metadata": {"i": i}}) + "\n")
            if i == 100:
                f.write("{this line is broken\n")
    return ids


@pytest.fixture(params=["sqlite", "postgres"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The CLI's default SQLite journal beside the results, or a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "tasks.results.jsonl.journal")
    url: str = request.getfixturevalue("postgres_url")
    return url


def start_batch(folder: Path, journal: str) -> subprocess.Popen[str]:
    env = cli_env(
        AGENTKIT_TEST_EFFECTS=str(folder / "effects.log"),
        AGENTKIT_TEST_MODEL_DELAY="0.01",
        PYTHONPATH=str(ROOT),
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentkit",
            "batch",
            str(folder / "tasks.jsonl"),
            "--agent",
            AGENT,
            "-c",
            "12",
            "-q",
        ],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def effects(folder: Path) -> list[str]:
    path = folder / "effects.log"
    return [line.rsplit(" ", 1)[0] for line in path.read_text().splitlines()] if path.exists() else []


def journaled_tool_results(journal: str) -> set[str]:
    """The keys of every tool result in the journal (the record tool returns its key)."""
    if not journal.startswith("postgresql") and not Path(journal).exists():
        return set()
    keys = set()
    for info in list_sessions(journal):
        session = session_from_url(journal, info.session_id, create=False)
        keys.update(m.content for m in session.load() if isinstance(m, ToolMessage))
        session.close()  # type: ignore[attr-defined]
    return keys


def output_ids(out: Path) -> list[str]:
    if not out.exists():
        return []
    ids = []
    for number, raw in enumerate(out.read_bytes().split(b"\n")[:-1], 1):
        document = json.loads(raw)
        if number > 1:
            ids.append(document["id"])
    return ids


def test_kill_9_at_random_points_loses_nothing_and_duplicates_nothing(tmp_path: Path, journal: str) -> None:
    ids = write_tasks(tmp_path / "tasks.jsonl")
    out = tmp_path / "tasks.results.jsonl"
    rng = random.Random(int(os.environ.get("AGENTKIT_TEST_SEED", "15")))
    finished_before_kill: list[tuple[set[str], int]] = []
    kills = 0
    for _ in range(6):
        process = start_batch(tmp_path, journal)
        done_before = len(output_ids(out))
        deadline = time.monotonic() + 60
        # Wait until this run has made some progress of its own, then kill it a random moment later.
        while len(output_ids(out)) <= done_before and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        # What was journaled at the moment of the kill must never run again.
        finished_before_kill.append((journaled_tool_results(journal), len(effects(tmp_path))))
    assert kills >= 3, "the batch finished too fast to be killed"
    final = start_batch(tmp_path, journal)
    _, err = final.communicate(timeout=180)
    assert final.returncode == 1, err  # one malformed line: reported, counted, not fatal
    assert "line 102: not valid JSON" in err

    written = output_ids(out)
    missing, twice = set(ids) - set(written), [i for i, n in Counter(written).items() if n > 1]
    assert not missing and not twice, f"missing {sorted(missing)[:5]}, twice {twice[:5]}: {err[-2000:]}"
    results = {r.task_id: r for r in read_results(out)}
    wrong = [results[f"t{i}"] for i in range(TASKS) if results[f"t{i}"].output != f"answer to job {i}"]
    assert not wrong, [(r.task_id, r.output, r.stop_reason, r.error, r.resumed) for r in wrong[:3]]
    assert all(results[f"t{i}"].metadata == {"i": i} for i in range(TASKS))
    log = effects(tmp_path)
    assert set(log) == {f"job {i}#{s}" for i in range(TASKS) for s in range(2)}
    for journaled, position in finished_before_kill:
        rerun = journaled & set(log[position:])
        assert not rerun, f"tool calls journaled before a kill ran again: {sorted(rerun)[:5]}"


def test_a_result_journaled_but_not_written_is_recovered_not_rerun(tmp_path: Path) -> None:
    """The kill between "journal" and "output": the line is missing (or cut), the journal has it."""
    out, journal = tmp_path / "results.jsonl", tmp_path / "j.db"
    tasks = [Task(f"t{i}", f"job {i}") for i in range(20)]
    effects_file = tmp_path / "effects.log"
    os.environ["AGENTKIT_TEST_EFFECTS"] = str(effects_file)
    try:
        assert len(list(Batch(make_agent, out=str(out), journal=str(journal)).run(tasks))) == 20
        before = effects_file.read_text()
        whole = out.read_bytes()
        lines = whole.split(b"\n")
        out.write_bytes(b"\n".join(lines[:-3]) + b"\n" + lines[-3][:10])  # one line gone, one cut
        batch = Batch(make_agent, out=str(out), journal=str(journal))
        assert list(batch.run(tasks)) == []
        assert batch.stats.recovered == 2 and batch.stats.skipped == 20
        assert effects_file.read_text() == before  # nothing ran again
        assert Counter(r.task_id for r in read_results(out)) == Counter(t.id for t in tasks)
    finally:
        del os.environ["AGENTKIT_TEST_EFFECTS"]


def test_journal_records_results_before_the_output_line(tmp_path: Path) -> None:
    """Every line of the output has its result in the journal first (checked as each result arrives)."""
    out, journal_path = tmp_path / "results.jsonl", tmp_path / "j.db"
    batch = Batch(make_agent, out=str(out), journal=str(journal_path), batch_id="b")
    for result in batch.run([Task(f"t{i}", f"job {i}") for i in range(10)]):
        journal = SQLiteJournal(journal_path, "b")
        recorded = {r.task_id for r in journal.finished()}
        journal.close()
        assert result.task_id in recorded and result.task_id in {r.task_id for r in read_results(out)}

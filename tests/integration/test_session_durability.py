"""Sessions against real processes: a run killed with SIGKILL at several points resumes with every
tool call executed exactly once, and several processes write different sessions of one file at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from agentkit import AssistantMessage, ToolMessage
from agentkit.context import pairing_problems
from agentkit.sessions import SQLiteSession

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("session_worker.py")
STEPS, WIDTH = 4, 3


def start(
    db: Path, session_id: str, workdir: Path, steps: int = STEPS, width: int = WIDTH
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(db), session_id, str(workdir), str(steps), str(width)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"worker ended early ({process.returncode}): {process.stderr.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.005)


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def journaled_results(db: Path, session_id: str) -> int:
    return sum(isinstance(m, ToolMessage) for m in SQLiteSession(db, session_id).load())


def finish(db: Path, session_id: str, workdir: Path) -> None:
    (workdir / "go").touch()
    worker = start(db, session_id, workdir)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert out.strip() == "done"


def check_exactly_once_and_complete(db: Path, session_id: str, workdir: Path) -> None:
    counts = Counter(lines(workdir / "effects.log"))
    expected = {f"{step * 100 + i}" for step in range(STEPS) for i in range(WIDTH)}
    assert set(counts) == expected and set(counts.values()) == {1}, counts
    history = SQLiteSession(db, session_id).load()
    assert pairing_problems(history) == []
    assert sum(isinstance(m, ToolMessage) for m in history) == STEPS * WIDTH
    assert history[-1] == AssistantMessage(content="done")
    assert sum(isinstance(m, AssistantMessage) for m in history) == STEPS + 1


@pytest.mark.parametrize("model_call", [0, 1, 3, 4])
def test_killed_during_a_model_call_resumes_without_rerunning_tools(tmp_path: Path, model_call: int) -> None:
    db, workdir = tmp_path / "s.db", tmp_path
    (workdir / "go").touch()
    worker = start(db, "run", workdir)
    wait_for(lambda: str(model_call) in lines(workdir / "progress"), worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert journaled_results(db, "run") == min(model_call, STEPS) * WIDTH
    finish(db, "run", workdir)
    check_exactly_once_and_complete(db, "run", workdir)


def test_killed_between_parallel_calls_runs_only_the_unfinished_one(tmp_path: Path) -> None:
    db, workdir = tmp_path / "s.db", tmp_path
    worker = start(db, "run", workdir)
    # Step 1 runs record(100), record(101) and slow_record(102), which waits for the go file.
    wait_for(lambda: journaled_results(db, "run") == WIDTH + WIDTH - 1, worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert "102" not in lines(workdir / "effects.log")
    finish(db, "run", workdir)
    check_exactly_once_and_complete(db, "run", workdir)


def test_killed_before_the_first_step_starts_over_cleanly(tmp_path: Path) -> None:
    db, workdir = tmp_path / "s.db", tmp_path
    (workdir / "go").touch()
    worker = start(db, "run", workdir)
    wait_for(lambda: db.exists(), worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    finish(db, "run", workdir)
    check_exactly_once_and_complete(db, "run", workdir)


def test_processes_write_different_sessions_of_one_file_at_once(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    workers = []
    for n in range(6):
        folder = tmp_path / f"w{n}"
        folder.mkdir()
        (folder / "go").touch()
        workers.append((f"s{n}", folder, start(db, f"s{n}", folder, steps=15, width=2)))
    for session_id, folder, worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        history = SQLiteSession(db, session_id).load()
        assert pairing_problems(history) == [] and history[-1] == AssistantMessage(content="done")
        assert sum(isinstance(m, ToolMessage) for m in history) == 30
        assert sorted(map(int, lines(folder / "effects.log"))) == sorted(
            s * 100 + i for s in range(15) for i in range(2)
        )
    assert sorted(i.session_id for i in SQLiteSession.list_sessions(db)) == [f"s{n}" for n in range(6)]

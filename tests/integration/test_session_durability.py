"""Sessions against real processes, on every store (the ``store`` fixture: SQLite and a real
PostgreSQL): a run killed with SIGKILL at several points resumes with every tool call executed exactly
once; several processes write different sessions of one store at once; two processes running one
session never interleave (the lease), and a holder that stops renewing loses it without corrupting
anything."""

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
from tests.session_stores import Store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("session_worker.py")
STEPS, WIDTH = 4, 3


def start(
    store: Store,
    session_id: str,
    workdir: Path,
    steps: int = STEPS,
    width: int = WIDTH,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, str(WORKER), store.url, session_id, str(workdir), str(steps), str(width)],
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


def journaled_results(store: Store, session_id: str) -> int:
    with store.open(session_id) as session:
        return sum(isinstance(m, ToolMessage) for m in session.load())


def finish(store: Store, session_id: str, workdir: Path) -> None:
    (workdir / "go").touch()
    worker = start(store, session_id, workdir)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert out.strip() == "done"


def check_complete(store: Store, session_id: str) -> None:
    """The journal holds the whole run, every call paired with exactly one result."""
    history = store.open(session_id).load()
    assert pairing_problems(history) == []
    assert sum(isinstance(m, ToolMessage) for m in history) == STEPS * WIDTH
    assert history[-1] == AssistantMessage(content="done")
    assert sum(isinstance(m, AssistantMessage) for m in history) == STEPS + 1


def check_exactly_once_and_complete(store: Store, session_id: str, workdir: Path) -> None:
    counts = Counter(lines(workdir / "effects.log"))
    expected = {f"{step * 100 + i}" for step in range(STEPS) for i in range(WIDTH)}
    assert set(counts) == expected and set(counts.values()) == {1}, counts
    check_complete(store, session_id)


@pytest.mark.parametrize("model_call", [0, 1, 3, 4])
def test_killed_during_a_model_call_resumes_without_rerunning_tools(
    store: Store, tmp_path: Path, model_call: int
) -> None:
    workdir = tmp_path
    (workdir / "go").touch()
    worker = start(store, "run", workdir)
    wait_for(lambda: str(model_call) in lines(workdir / "progress"), worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert journaled_results(store, "run") == min(model_call, STEPS) * WIDTH
    finish(store, "run", workdir)  # at once: the killed holder's lease does not lock the session
    check_exactly_once_and_complete(store, "run", workdir)


def test_killed_between_parallel_calls_runs_only_the_unfinished_one(store: Store, tmp_path: Path) -> None:
    workdir = tmp_path
    worker = start(store, "run", workdir)
    # Step 1 runs record(100), record(101) and slow_record(102), which waits for the go file.
    wait_for(lambda: journaled_results(store, "run") == WIDTH + WIDTH - 1, worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert "102" not in lines(workdir / "effects.log")
    finish(store, "run", workdir)
    check_exactly_once_and_complete(store, "run", workdir)


def test_killed_before_the_first_step_starts_over_cleanly(store: Store, tmp_path: Path) -> None:
    workdir = tmp_path
    (workdir / "go").touch()
    worker = start(store, "run", workdir)
    wait_for(lambda: (workdir / "progress").exists() or store.list() != [], worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    finish(store, "run", workdir)
    check_exactly_once_and_complete(store, "run", workdir)


def test_processes_write_different_sessions_of_one_store_at_once(store: Store, tmp_path: Path) -> None:
    # With SQLite the six also race to create the file: each must find it whole, never empty.
    workers = []
    for n in range(6):
        folder = tmp_path / f"w{n}"
        folder.mkdir()
        (folder / "go").touch()
        workers.append((f"s{n}", folder, start(store, f"s{n}", folder, steps=15, width=2)))
    for session_id, folder, worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        history = store.open(session_id).load()
        assert pairing_problems(history) == [] and history[-1] == AssistantMessage(content="done")
        assert sum(isinstance(m, ToolMessage) for m in history) == 30
        assert sorted(map(int, lines(folder / "effects.log"))) == sorted(
            s * 100 + i for s in range(15) for i in range(2)
        )
    assert sorted(i.session_id for i in store.list()) == [f"s{n}" for n in range(6)]


def test_two_processes_running_one_session_at_once_never_interleave(store: Store, tmp_path: Path) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    first = start(store, "shared", first_dir)  # stays in step 1 until its go file exists
    wait_for(lambda: journaled_results(store, "shared") == WIDTH + WIDTH - 1, first)
    (second_dir / "go").touch()
    second = start(store, "shared", second_dir)
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 3, out  # refused, naming who holds the session
    assert out.startswith("busy: session 'shared'") and "pid" in out
    assert not (second_dir / "effects.log").exists()  # it ran nothing
    (first_dir / "go").touch()
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    check_exactly_once_and_complete(store, "shared", first_dir)
    (second_dir / "go").unlink()
    later = start(store, "shared", second_dir)  # the session stays usable: it resumes a finished run
    out, err = later.communicate(timeout=60)
    assert (later.returncode, out.strip()) == (0, "done"), err


def test_a_paused_holder_loses_its_lease_after_the_ttl_and_cannot_journal_after(
    store: Store, tmp_path: Path
) -> None:
    ttl = {"LEASE_TTL": "1.0"}
    paused_dir, taker_dir = tmp_path / "paused", tmp_path / "taker"
    paused_dir.mkdir()
    taker_dir.mkdir()
    paused = start(store, "run", paused_dir, env=ttl)
    wait_for(lambda: journaled_results(store, "run") == WIDTH + WIDTH - 1, paused)
    paused.send_signal(signal.SIGSTOP)  # alive but silent: its lease is no longer renewed
    try:
        time.sleep(2.0)  # twice the ttl
        (taker_dir / "go").touch()
        taker = start(store, "run", taker_dir, env=ttl)
        out, err = taker.communicate(timeout=60)
        assert (taker.returncode, out.strip()) == (0, "done"), out + err
    finally:
        paused.send_signal(signal.SIGCONT)
    (paused_dir / "go").touch()  # its slow_record returns now; journaling that result must be refused
    out, _ = paused.communicate(timeout=60)
    assert paused.returncode == 3 and "lost its lease" in out, out
    check_complete(store, "run")  # the journal is the taker's run, whole and untouched


APPENDER = """
import sys
from agentkit import UserMessage
from agentkit.sessions import session_from_url
session = session_from_url(sys.argv[1], "queue")
with session.lease(sys.argv[2], wait=120):
    for i in range(int(sys.argv[3])):
        session.append(UserMessage(content=f"{sys.argv[2]} {i}"))
"""


def test_processes_appending_to_one_session_through_the_lease_take_turns(store: Store) -> None:
    store.open("queue")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    names, count = [f"writer{n}" for n in range(5)], 40
    writers = [
        subprocess.Popen([sys.executable, "-c", APPENDER, store.url, name, str(count)], env=env, text=True)
        for name in names
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    contents = [m.content for m in store.open("queue").load()]
    assert len(contents) == len(names) * count
    blocks = [contents[i : i + count] for i in range(0, len(contents), count)]
    # Each writer's messages are one unbroken block, in order: the lease serialized them.
    assert sorted(block[0].split()[0] for block in blocks) == names
    assert all(block == [f"{block[0].split()[0]} {i}" for i in range(count)] for block in blocks)

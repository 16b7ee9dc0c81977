"""A multi-agent run killed with SIGKILL inside a child agent, mid-tool, resumes from the one session
they share: no tool whose result was journaled runs again, in the parent or in the child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agentkit import AssistantMessage, ToolMessage
from agentkit.context import pairing_problems
from agentkit.sessions import SQLiteSession

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("multi_agent_worker.py")


def run_worker(db: Path, workdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(db), "run", str(workdir)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.parametrize(
    ("kill_when", "kill_at"),
    [
        ("progress", "child:1"),  # while the child's model answers its first step
        ("effects.log", "child:20"),  # mid-tool: one call of the child's step is done, the other waits
        ("progress", "child:3"),
    ],
)
def test_a_run_killed_inside_a_child_resumes_without_rerunning_any_journaled_tool(
    tmp_path: Path, kill_when: str, kill_at: str
) -> None:
    db = tmp_path / "run.db"
    worker = run_worker(db, tmp_path)
    deadline = time.monotonic() + 60
    while kill_at not in lines(tmp_path / kill_when):
        if "child:2" in lines(tmp_path / "progress") and kill_at != "child:20":
            (tmp_path / "go").touch()  # only the mid-tool case keeps the slow call waiting
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        assert time.monotonic() < deadline, "the worker never got there"
        time.sleep(0.005)
    if kill_at == "child:20":
        time.sleep(0.2)  # the finished call's result is journaled; the slow one still waits
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    (tmp_path / "go").touch()

    resumed = run_worker(db, tmp_path)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert out.strip() == "all done"
    effects = Counter(lines(tmp_path / "effects.log"))
    expected = {"parent:1"} | {f"child:{step * 10 + i}" for step in range(4) for i in range(2)}
    assert set(effects) == expected
    assert all(count == 1 for count in effects.values()), effects  # nothing ran twice

    with SQLiteSession(db, "run", create=False) as parent:
        history = parent.load()
        assert pairing_problems(history) == []
        (child_call,) = [
            c
            for m in history
            if isinstance(m, AssistantMessage)
            for c in m.tool_calls
            if c.name == "recorder"
        ]
        result = next(m for m in history if isinstance(m, ToolMessage) and m.tool_call_id == child_call.id)
        assert result.content == "child done" and not result.is_error
        with parent.child(child_call.id) as child:
            assert pairing_problems(child.load()) == []

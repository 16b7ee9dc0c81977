"""``agentkit eval`` as a user runs it: the table and files it writes, the one line it prints for each
kind of bad input (before any model time is spent), and resuming after kill -9."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .cli_helpers import cli_env, run_cli, run_cli_pty, strip_ansi

TOOLS = '''
from agentkit import tool


@tool
def get_weather(city: str, unit: str = "celsius") -> str:
    """The weather in a city.

    Args:
        city: the city
        unit: celsius or fahrenheit
    """
    raise AssertionError("never run")
'''


def _case(case_id: str, city: str) -> str:
    return json.dumps(
        {
            "id": case_id,
            "prompt": f"Weather in {city}?",
            "tools": ["get_weather"],
            "expect": [{"name": "get_weather", "arguments": {"city": city}}],
        }
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "tools.py").write_text(TOOLS)
    (tmp_path / "cases.jsonl").write_text("\n".join([_case("a", "Paris"), _case("b", "Rome")]) + "\n")
    replies = [
        "OK",  # the reachability check
        {
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
            "usage": {"input_tokens": 50, "output_tokens": 9},
        },
        {
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Milan"}}],
            "usage": {"input_tokens": 50, "output_tokens": 9},
        },
    ]
    (tmp_path / "model.json").write_text(json.dumps(replies))
    return tmp_path


def test_eval_prints_the_table_and_writes_the_report(workdir: Path) -> None:
    done = run_cli(
        "eval", "cases.jsonl", "--tool", "tools.py", "--model", "scripted:model.json", "-c", "1", cwd=workdir
    )
    assert done.code == 0, done.stderr
    assert "cases" in done.stdout and "50.0% (1/2)" in done.stdout and "100/18" in done.stdout
    out = workdir / "eval-results" / "cases"
    assert f"report: {Path('eval-results/cases/report.html')}" in done.stdout
    rows = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    assert [(r["id"], r["passed"]) for r in rows] == [("a", True), ("b", False)]
    assert rows[1]["reason"] == "argument city: expected one of ['Rome'], got 'Milan'"
    assert (out / "report.html").read_text().count("<svg") >= 2
    again = run_cli(
        "eval", "cases.jsonl", "--tool", "tools.py", "--model", "scripted:model.json", "--json", cwd=workdir
    )
    assert again.code == 0, again.stderr  # resumed: no case asked again (the script has no replies left)
    assert json.loads(again.stdout)["models"][0]["passed"] == 1


def test_on_a_terminal_a_live_bar_shows_progress_and_accuracy(workdir: Path) -> None:
    done = run_cli_pty(
        "eval",
        str(workdir / "cases.jsonl"),
        "--tool",
        str(workdir / "tools.py"),
        "--model",
        f"scripted:{workdir / 'model.json'}",
        "--out",
        str(workdir / "out"),
    )
    assert done.code == 0, done.stdout
    screen = strip_ansi(done.stdout)
    frames = [line for line in screen.splitlines() if "passed" in line and "calls/s" in line]  # \r redraws
    assert frames[0].startswith("scripted:") and "0/2 - passed" in frames[0]
    assert "2/2 50.0% passed" in frames[-1]


def test_each_kind_of_bad_input_is_one_line(workdir: Path) -> None:
    (workdir / "broken.py").write_text("import nonexistent_module_xyz\n")
    done = run_cli(
        "eval", "cases.jsonl", "--tool", "broken.py", "--model", "scripted:model.json", cwd=workdir
    )
    assert done.code == 3
    assert done.stderr.strip().splitlines() == [
        "agentkit: error: broken.py: importing it raised ModuleNotFoundError: "
        "No module named 'nonexistent_module_xyz'"
    ]
    assert not (workdir / "eval-results").exists()

    (workdir / "mixed.jsonl").write_text(
        _case("a", "Paris")
        + "\n"
        + '{"id": "z", "prompt": "x", "tools": ["get_time"], "expect": "no_call"}\n'
    )
    done = run_cli("eval", "mixed.jsonl", "--tool", "tools.py", "--model", "scripted:model.json", cwd=workdir)
    assert done.code == 3  # the other case ran; the exit code says something needs fixing
    skipped = "agentkit: skipped mixed.jsonl:2: field 'tools[0]': case 'z': tool 'get_time' is not given"
    assert f"{skipped} (given: get_weather)" in done.stderr
    assert "100.0% (1/1)" in done.stdout

    done = run_cli(
        "eval", "cases.jsonl", "--tool", "tools.py", "--model", "openai:m@http://127.0.0.1:9/v1", cwd=workdir
    )
    assert done.code == 4
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("agentkit: error: model openai:m@http://127.0.0.1:9/v1 cannot be used: ")
    )

    done = run_cli("eval", "--tool", "tools.py", cwd=workdir)
    assert (done.code, done.stderr.strip()) == (
        3,
        "agentkit: error: give a case file or --bfcl CATEGORIES (one of them)",
    )
    done = run_cli("eval", "--bfcl", "simple_java", cwd=workdir)
    assert done.code == 3 and "unknown BFCL category 'simple_java'" in done.stderr


@pytest.mark.slow
def test_kill_9_at_random_points_then_rerun_finishes_every_case_once(tmp_path: Path) -> None:
    cases = [_case(f"c{i:03d}", f"City{i}") for i in range(60)]
    (tmp_path / "cases.jsonl").write_text("\n".join(cases) + "\n")
    worker = Path(__file__).with_name("eval_resume_worker.py")
    runs = tmp_path / "out" / "runs" / "scripted.jsonl"
    log = tmp_path / "asked.log"
    rng = random.Random(7)

    def results_written() -> list[str]:
        if not runs.exists():
            return []
        lines = runs.read_text().splitlines()[1:]  # the header names the batch
        return [json.loads(line)["id"].split("#")[0] for line in lines if line.endswith("}")]

    def start() -> subprocess.Popen[str]:
        command = [
            sys.executable,
            str(worker),
            str(tmp_path / "cases.jsonl"),
            str(tmp_path / "out"),
            str(log),
        ]
        return subprocess.Popen(
            command, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env()
        )

    kills = 0
    while kills < 3:
        before = len(results_written())
        process = start()
        deadline = time.monotonic() + 60
        while len(results_written()) < before + 5 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        done_at_kill = set(results_written())
        asked_at_kill = len(log.read_text().splitlines())
        assert len(done_at_kill) == len(results_written())  # no result written twice
    assert kills == 3, "the eval finished too fast to be killed three times"
    process = start()
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert stdout.strip() == "passed 60 of 60"
    written = results_written()
    assert sorted(written) == [f"c{i:03d}" for i in range(60)]  # every case once
    asked_after = log.read_text().splitlines()[asked_at_kill:]
    # The last run asked exactly the cases that had no result when it started (and the probe).
    assert sorted(asked_after) == sorted(
        ["Reply with the word OK."]
        + [f"Weather in City{int(c[1:])}?" for c in {f"c{i:03d}" for i in range(60)} - done_at_kill]
    )
    report_rows = (tmp_path / "out" / "cases.jsonl").read_text().splitlines()
    assert len(report_rows) == 60

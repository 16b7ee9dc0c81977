"""``agentkit batch`` as users run it: the real entry point, piped or on a terminal."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.batch import read_results
from tests.integration.cli_helpers import cli_env, run_cli, run_cli_pty, strip_ansi, write_script

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "tests" / "integration" / "batch_agents.py"


def write_tasks(path: Path, prompts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": f"t{i}", "prompt": p}) + "\n" for i, p in enumerate(prompts)))
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_on_a_terminal_a_live_progress_bar_then_a_summary(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", [f"job {i}" for i in range(40)] + ["job broken"])
    with tasks.open("a") as f:
        f.write("not json\n")
    done = run_cli_pty(
        "batch", str(tasks), "--agent", f"{AGENTS}:make_slow_agent", "-c", "4",
        AGENTKIT_TEST_MODEL_DELAY="0.05", PYTHONPATH=str(ROOT),
    )  # fmt: skip
    text = strip_ansi(done.stdout)
    assert done.code == 1, text  # a failed task and a malformed line
    assert "running" in text and "tok/s" in text and "failed" in text  # the live bar's columns
    assert "skipped line 42: not valid JSON" in text
    assert "41 tasks run in" in text and "40 answered, 1 failed, 0 interrupted" in text
    assert "input lines skipped: 1 malformed, 0 duplicate" in text
    assert "slowest: " in text and "results: " in text
    results = read_results(tmp_path / "tasks.results.jsonl")
    assert len(results) == 41 and sum(r.ok for r in results) == 40


def test_piped_all_answered_exits_0_and_a_rerun_skips_everything(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a", "b", "c"])
    out = tmp_path / "out.jsonl"
    args = ("batch", str(tasks), "--agent", f"{AGENTS}:make_agent", "--out", str(out))
    first = run_cli(*args, PYTHONPATH=str(ROOT))
    assert first.code == 0, first.stderr
    assert "3 tasks run in" in first.stderr and "3 answered" in first.stderr
    assert "\x1b[" not in first.stderr  # no live display when not on a terminal
    again = run_cli(*args, PYTHONPATH=str(ROOT))
    assert again.code == 0 and "3 tasks already had a result and were skipped" in again.stderr
    assert sorted(r.task_id for r in read_results(out)) == ["t0", "t1", "t2"]
    assert (tmp_path / "out.jsonl.journal").exists()


def test_the_hidden_scripted_model_string_with_tools_from_a_file(tmp_path: Path) -> None:
    tools = tmp_path / "mytools.py"
    source = "from agentkit import tool\n\n@tool\ndef double(x: int) -> int:\n    '''Double x.'''\n"
    tools.write_text(source + "    return 2 * x\n")
    calls = {"tool_calls": [{"name": "double", "arguments": {"x": 21}}]}
    model = write_script(tmp_path / "script.json", [calls, "42", calls, "also 42"])
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["first", "second"])
    done = run_cli(
        "batch", str(tasks), "--model", model, "--tool", f"{tools}:double", "-c", "1", "--messages"
    )
    assert done.code == 0, done.stderr
    results = {r.task_id: r for r in read_results(tmp_path / "tasks.results.jsonl")}
    assert results["t0"].output == "42" and results["t1"].output == "also 42" and results["t0"].steps == 2
    line = json.loads((tmp_path / "tasks.results.jsonl").read_text().splitlines()[1])
    assert line["messages"][3] == {"role": "tool", "tool_call_id": line["messages"][2]["tool_calls"][0]["id"],
                                   "name": "double", "content": "42", "is_error": False}  # fmt: skip


def test_a_results_file_of_another_batch_is_refused_unless_forced(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a", "b"])
    out = tmp_path / "out.jsonl"
    first = run_cli(
        "batch", str(tasks), "--agent", f"{AGENTS}:make_agent", "-o", str(out), PYTHONPATH=str(ROOT)
    )
    assert first.code == 0, first.stderr
    before = out.read_bytes()
    other = run_cli(
        "batch", str(tasks), "--agent", f"{AGENTS}:make_slow_agent", "-o", str(out), PYTHONPATH=str(ROOT)
    )
    assert other.code == 3
    assert "belongs to another batch" in other.stderr and "make_agent' there" in other.stderr
    assert "--force" in other.stderr and out.read_bytes() == before
    forced = run_cli(
        "batch", str(tasks), "--agent", f"{AGENTS}:make_slow_agent", "-o", str(out), "--force",
        PYTHONPATH=str(ROOT),
    )  # fmt: skip
    assert forced.code == 0, forced.stderr
    header = json.loads(out.read_text().splitlines()[0])["agentkit_batch"]
    assert header["agent"].endswith(":make_slow_agent") and len(read_results(out)) == 2


def test_an_unreachable_ray_address_exits_3_and_writes_nothing(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    address = f"127.0.0.1:{closed_port()}"
    done = run_cli(
        "batch",
        str(tasks),
        "--agent",
        f"{AGENTS}:make_agent",
        "--engine",
        "ray",
        "--address",
        address,
        PYTHONPATH=str(ROOT),
    )
    assert done.code == 3, done.stderr
    assert f"cannot reach the Ray cluster at {address}" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.jsonl"]


def test_engine_ray_without_ray_says_how_to_install_it(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    code = (
        "import sys; sys.modules['ray'] = None\n"  # as if the extra were not installed
        "from agentkit.cli import main\n"
        f"sys.exit(main(['batch', {str(tasks)!r}, '--agent', {f'{AGENTS}:make_agent'!r}, '--engine', 'ray']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(PYTHONPATH=str(ROOT))
    )
    assert done.returncode == 3
    assert "pip install 'agentkit[ray]'" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.jsonl"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "local"], "--agent builds the whole agent: leave out --model"),
        (["--journal", "j.db", "--no-journal"], "contradict"),
        (["--address", "auto"], "--address and --workers need --engine ray"),
    ],
)
def test_contradicting_options_are_configuration_errors(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    done = run_cli(
        "batch", str(tasks), "--agent", f"{AGENTS}:make_agent", *extra, PYTHONPATH=str(ROOT), cwd=tmp_path
    )
    assert done.code == 3 and message in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.jsonl"]


def test_a_missing_task_file_exits_3(tmp_path: Path) -> None:
    done = run_cli("batch", str(tmp_path / "nope.jsonl"))
    assert done.code == 3 and "task file not found" in done.stderr


def test_the_embedded_model_answers_a_small_batch(tmp_path: Path) -> None:
    """The worked example of docs/batch.md, on the real embedded SmolLM2."""
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["Say hello.", "Name a colour."])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentkit",
            "batch",
            str(tasks),
            "--model",
            "local",
            "-c",
            "2",
            "--max-steps",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,  # loading the model: seconds from its cache, a minute or more the first time
        env=cli_env(),
    )
    assert done.returncode == 0, done.stderr
    results = read_results(tmp_path / "tasks.results.jsonl")
    assert sorted(r.task_id for r in results) == ["t0", "t1"]
    assert all(r.ok and isinstance(r.output, str) and r.output.strip() for r in results), results
    assert all(r.usage.input_tokens > 0 and r.usage.output_tokens > 0 for r in results)

"""The python tool: a real child process with time, memory and output limits, behind approval."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from agentkit import Agent, ToolMessage
from agentkit.approval import approve_all
from agentkit.testing import ScriptedBackend, call
from agentkit.tools import PythonLimits, python, python_tool
from agentkit.tools.python_exec import run_python

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="resource limits are POSIX-only")

FAST = PythonLimits(timeout=3, memory_mb=256, max_output_chars=2000)


def test_runs_code_and_captures_stdout_stderr_and_exit_status() -> None:
    run = run_python("import sys\nprint('out', 6 * 7)\nprint('err', file=sys.stderr)\nsys.exit(3)", FAST)
    assert (run.exit_code, run.stdout, run.stderr, run.timed_out) == (3, "out 42\n", "err\n", False)
    assert run.render().startswith("exit status 3\n--- stdout ---\nout 42")


def test_exceptions_show_the_traceback_of_the_snippet_only() -> None:
    run = run_python("x = 1\n1 / x\nraise ValueError('boom')", FAST)
    assert run.exit_code == 1
    assert 'File "' in run.stderr and 'main.py", line 3' in run.stderr
    assert "ValueError: boom" in run.stderr
    assert "resource" not in run.stderr  # the bootstrap's frames are gone (it exec'd the interpreter)


def test_runs_isolated_in_its_own_directory_with_a_minimal_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "secret-should-not-leak")
    monkeypatch.chdir(tmp_path)
    code = "import os, sys\nprint(os.getcwd())\nprint(sorted(os.environ))\nprint(sys.flags.isolated)"
    run = run_python(code, FAST)
    cwd, env, isolated = run.stdout.splitlines()
    assert Path(cwd).name == "work" and Path(cwd) != tmp_path
    assert "OPENAI_API_KEY" not in env
    assert isolated == "1"
    assert not Path(cwd).exists()  # the temporary directory is removed afterwards


def test_code_that_loops_forever_is_killed_at_the_time_limit() -> None:
    run = run_python("while True:\n    pass", PythonLimits(timeout=1, memory_mb=256))
    assert run.timed_out
    assert "timed out after 1 s" in run.render()


def test_child_processes_are_killed_with_the_snippet(tmp_path: Path) -> None:
    marker = tmp_path / "alive"
    grandchild = f"import pathlib, time; time.sleep(2); pathlib.Path({str(marker)!r}).write_text('x')"
    code = (
        f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {grandchild!r}])\nwhile True: pass"
    )
    run = run_python(code, PythonLimits(timeout=1, memory_mb=256))
    assert run.timed_out
    time.sleep(2.5)
    assert not marker.exists()  # the grandchild died with the process group


def test_unbounded_allocation_hits_the_memory_limit() -> None:
    run = run_python("blocks = []\nwhile True:\n    blocks.append(bytearray(10**7))", FAST)
    assert run.exit_code == 1 and not run.timed_out
    assert "MemoryError" in run.stderr


def test_huge_output_is_truncated_and_bounded() -> None:
    limits = PythonLimits(timeout=5, memory_mb=256, max_file_mb=1, max_output_chars=100)
    run = run_python("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", limits)
    assert not run.timed_out  # stopped by the file-size limit, not the clock
    assert run.stdout.startswith("x" * 100)
    assert "stdout truncated: showing the first 100 characters of 1048576 bytes" in run.stdout


def test_persistent_workdir_keeps_files_between_calls(tmp_path: Path) -> None:
    tool = python_tool(FAST, workdir=tmp_path, requires_approval=False)
    tool("open('data.txt', 'w').write('kept')")
    assert "kept" in tool("print(open('data.txt').read())")


def test_needs_approval_by_default() -> None:
    assert python.requires_approval
    assert python_tool().requires_approval
    assert not python_tool(requires_approval=False).requires_approval


def test_agent_runs_python_only_when_approved() -> None:
    script = [call("python", code="print(sum(range(10)))"), "45"]
    denied = ScriptedBackend(list(script))
    result = Agent(model=denied, tools=[python_tool(FAST)]).run("sum 0..9")
    message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert message.is_error and "needs approval" in message.content

    approved = ScriptedBackend(list(script))
    result = Agent(model=approved, tools=[python_tool(FAST)], approve=approve_all).run("sum 0..9")
    message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert not message.is_error
    assert message.content == "exit status 0\n--- stdout ---\n45\n"
    approved.assert_used_up()


def test_the_snippets_own_signal_death_is_reported_through_the_isolation() -> None:
    run = run_python("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)", FAST)
    assert run.isolation in ("namespace", "capabilities")
    assert run.exit_code == -15 and run.render().startswith("killed by signal SIGTERM")


def test_processes_that_leave_the_session_die_with_the_namespace(tmp_path: Path) -> None:
    marker = tmp_path / "alive"
    escapee = f"import pathlib, time; time.sleep(1.5); pathlib.Path({str(marker)!r}).write_text('x')"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {escapee!r}], start_new_session=True)\n"
        "print('started')"
    )
    run = run_python(code, FAST, isolation="namespace")
    assert run.stdout == "started\n" and not run.timed_out
    time.sleep(2.5)
    assert not marker.exists()  # it left the process group, but not the PID namespace


def test_without_isolation_processes_that_leave_the_session_outlive_the_run(tmp_path: Path) -> None:
    marker = tmp_path / "alive"
    escapee = f"import pathlib, time; time.sleep(1); pathlib.Path({str(marker)!r}).write_text('x')"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {escapee!r}], start_new_session=True)"
    )
    run_python(code, FAST, isolation="none")
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists()  # what the docs say "none" (and the capabilities mode) cannot prevent

"""The ``python`` tool: run a Python snippet in a separate, resource-limited process.

Each call writes the code to ``main.py`` in a fresh temporary directory and runs it with this
interpreter in isolated mode (``python -I``: no user site-packages, no ``PYTHON*`` variables) and a
minimal environment (no API keys or other variables of the parent leak in). A small bootstrap sets
hard resource limits and then ``exec``s the interpreter, so the limits bind the snippet and anything
it starts, and tracebacks show only the snippet's own lines:

- wall-clock time (the whole process group is killed), CPU time (``RLIMIT_CPU``);
- address space (``RLIMIT_AS``), the size of any file written, including the captured output
  (``RLIMIT_FSIZE``), no core dumps.

What it does **not** isolate, said plainly: this is not a sandbox. The snippet runs as the same
user, can read and write every file that user can (its working directory is only a default, not a
jail), can open network connections, can start processes (they share the limits, and are killed with
the group on timeout unless they leave it with ``setsid``), and sees the installed packages. Use it
only with approval (the default) or inside a container or VM that provides real isolation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agentkit.tool import Tool

_BOOTSTRAP = """\
import os, resource, sys
memory, cpu, fsize = (int(v) for v in sys.argv[1:4])
for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CPU, cpu),
                     (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0)):
    if value >= 0:
        resource.setrlimit(limit, (value, value))
os.execv(sys.executable, [sys.executable, "-I", "-X", "utf8", "main.py"])
"""


@dataclass(frozen=True)
class PythonLimits:
    """Bounds for one run. ``memory_mb`` bounds the address space, which for Python is roughly
    2-3x the memory actually used; libraries that reserve large virtual areas (some BLAS builds
    with many threads) need a higher value."""

    timeout: float = 10.0
    memory_mb: int = 512
    max_file_mb: int = 16
    max_output_chars: int = 10_000


@dataclass(frozen=True)
class PythonRun:
    """What one run produced."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    timeout: float

    def render(self) -> str:
        """The run as text for a model: a status line, then stdout and stderr (already truncated)."""
        if self.timed_out:
            status = f"timed out after {self.timeout:g} s; the process was killed"
        elif self.exit_code < 0:
            status = f"killed by signal {_signal_name(-self.exit_code)}"
            if -self.exit_code == signal.SIGXCPU:
                status += " (CPU time limit)"
            elif -self.exit_code == signal.SIGXFSZ:
                status += " (file or output size limit)"
        else:
            status = f"exit status {self.exit_code}"
        parts = [status]
        for name, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            if text:
                parts.append(f"--- {name} ---\n{text}")
        if not self.stdout and not self.stderr:
            parts.append("(no output; use print() to show results)")
        return "\n".join(parts)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _read_output(path: Path, limit: int, name: str) -> str:
    """The first ``limit`` characters of a captured stream, with a note if there was more."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        data = handle.read(limit * 4)
    text = data.decode("utf-8", errors="replace")
    if len(text) > limit or size > len(data):
        return f"{text[:limit]}\n[{name} truncated: showing the first {limit} characters of {size} bytes]"
    return text


def run_python(code: str, limits: PythonLimits | None = None, *, workdir: Path | None = None) -> PythonRun:
    """Run ``code`` in a child process under ``limits``; ``workdir`` (default: a fresh temporary
    directory, removed afterwards) is its current directory."""
    limits = limits or PythonLimits()
    scratch = Path(tempfile.mkdtemp(prefix="agentkit-python-"))
    try:
        cwd = workdir if workdir is not None else scratch / "work"
        cwd.mkdir(parents=True, exist_ok=True)
        (cwd / "main.py").write_text(code, encoding="utf-8")
        out_path, err_path = scratch / "stdout", scratch / "stderr"
        env = {
            "PATH": os.defpath,
            "HOME": str(cwd),
            "TMPDIR": str(cwd),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        args = [
            sys.executable,
            "-I",
            "-c",
            _BOOTSTRAP,
            str(limits.memory_mb * 1024 * 1024),
            str(max(1, int(limits.timeout + 1))),
            str(limits.max_file_mb * 1024 * 1024),
        ]
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = False
            try:
                process.wait(timeout=limits.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(process.pid)
                process.wait()
        return PythonRun(
            exit_code=process.returncode,
            stdout=_read_output(out_path, limits.max_output_chars, "stdout"),
            stderr=_read_output(err_path, limits.max_output_chars, "stderr"),
            timed_out=timed_out,
            timeout=limits.timeout,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _kill_group(pid: int) -> None:
    """Kill the snippet and every process it started that stayed in its session."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def python_tool(
    limits: PythonLimits | None = None,
    *,
    workdir: str | os.PathLike[str] | None = None,
    requires_approval: bool = True,
    name: str = "python",
) -> Tool:
    """Build the ``python`` tool.

    Args:
        limits: time, memory, file-size and output bounds of each run.
        workdir: a directory kept across calls (files written by one call are seen by the next);
            by default every call gets a fresh temporary directory.
        requires_approval: ask the agent's approval callback before each run (default: yes, since
            the code is not sandboxed; see this module's docstring).
        name: the tool name the model sees.
    """
    limits = limits or PythonLimits()
    directory = Path(workdir).resolve() if workdir is not None else None

    def python(code: str) -> str:
        """Run a Python 3 program and return its exit status, stdout and stderr.

        Each call starts a new process: variables do not survive between calls. Print what you
        want to see. The standard library is available; there is no input (stdin is empty).

        Args:
            code: The complete program, e.g. "import math\\nprint(math.sqrt(2))".
        """
        return run_python(code, limits, workdir=directory).render()

    return Tool.from_function(
        python, name=name, timeout=limits.timeout + 10, requires_approval=requires_approval
    )


python = python_tool()
"""The ``python`` tool with default limits; it needs approval (``Agent(approve=...)``)."""

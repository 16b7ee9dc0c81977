"""The ``python`` tool: run a Python snippet in a separate, resource-limited process.

Each call writes the code to ``main.py`` in a fresh temporary directory and runs it with this
interpreter in isolated mode (``python -I``: no user site-packages, no ``PYTHON*`` variables) and a
minimal environment (no API keys or other variables of the parent are passed on). A small first
process (``_python_child.py``) isolates the snippet, sets hard resource limits and then ``exec``s
the interpreter, so the limits bind the snippet and anything it starts, and tracebacks show only
the snippet's own lines:

- wall-clock time (the whole process group is killed), CPU time (``RLIMIT_CPU``);
- address space (``RLIMIT_AS``), the size of any file written, including the captured output
  (``RLIMIT_FSIZE``), no core dumps.

Not passing the environment on is not enough: on Linux a process may read the environment and
memory of any process of the same user through ``/proc/PID/environ`` and ``/proc/PID/mem``, and root
may read every process's. ``isolation`` closes that:

- ``namespace``: the snippet runs in its own user, PID and mount namespaces with a fresh ``/proc``
  and no capabilities. It sees no process outside (not its parent, not the agent, not their
  ancestors), so it can neither read nor signal them. Needs user namespaces (most distributions
  allow them to every user; some containers forbid them).
- ``capabilities`` (root only): the snippet keeps uid 0 but loses every capability for good. The
  kernel then refuses it the environment and memory of every process that holds capabilities,
  which every root process does unless it dropped them. It still sees the process list and command
  lines.
- ``auto`` (the default): ``namespace`` where possible, else ``capabilities`` when root, else the
  run is refused with a :class:`ConfigurationError`: no mechanism hides the parent here.
- ``none``: no isolation; the parent's initial environment is readable.

What it does **not** isolate, said plainly: this is not a sandbox. The snippet runs as the same
user, can read and write every file that user can (its working directory is only a default, not a
jail; keys kept in files, such as ``.env`` or ``~/.netrc``, are readable), can open network
connections, can start processes, and sees the installed packages. Use it only with approval (the
default) or inside a container or VM that provides real isolation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentkit.errors import ConfigurationError
from agentkit.tool import Tool


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
    isolation: str = "none"

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


Isolation = Literal["auto", "namespace", "capabilities", "none"]
"""How a run is kept from the parent's secrets (see the module docstring); ``auto`` picks the best."""

_CHILD = Path(__file__).with_name("_python_child.py")
_usable: dict[str, str | None] = {}  # isolation -> why it cannot be used here (None: it works)
_usable_lock = threading.Lock()


def choose_isolation(requested: Isolation = "auto") -> Isolation:
    """The isolation a run asked for ``requested`` gets on this machine.

    ``auto`` is ``namespace`` where the kernel allows it, else ``capabilities`` when running as
    root. Otherwise no mechanism hides the parent's processes, and this raises
    :class:`ConfigurationError`: the user decides whether to run without (``isolation="none"``).
    Each mechanism is tried once per process, with an empty program, and the answer kept.
    """
    if requested != "auto":
        return requested
    reasons = []
    for candidate in ("namespace", "capabilities"):
        if candidate == "capabilities" and os.geteuid() != 0:
            reasons.append("capabilities: hides other processes only as root")
            continue
        with _usable_lock:
            if candidate not in _usable:
                _usable[candidate] = _try(candidate)
            reason = _usable[candidate]
        if reason is None:
            return candidate
        reasons.append(f"{candidate}: {reason}")
    raise ConfigurationError(
        "the python tool cannot hide this process's environment and memory from the code it runs "
        f"here ({'; '.join(reasons)}). Run the agent in a container or VM, enable unprivileged user "
        "namespaces, or accept the risk with python_tool(isolation='none')"
    )


def _try(isolation: Isolation) -> str | None:
    try:
        run_python("", PythonLimits(timeout=30), isolation=isolation)
    except ConfigurationError as exc:
        return str(exc.__cause__ or exc)
    return None


class _IsolationFailed(Exception):
    """The child could not set up the isolation it was asked for; the snippet did not run."""


def run_python(
    code: str,
    limits: PythonLimits | None = None,
    *,
    workdir: Path | None = None,
    isolation: Isolation = "auto",
) -> PythonRun:
    """Run ``code`` in a child process under ``limits``; ``workdir`` (default: a fresh temporary
    directory, removed afterwards) is its current directory. Raises :class:`ConfigurationError`
    if ``isolation`` cannot be had on this machine (the code is then not run)."""
    limits = limits or PythonLimits()
    mechanism = choose_isolation(isolation)
    scratch = Path(tempfile.mkdtemp(prefix="agentkit-python-"))
    try:
        cwd = workdir if workdir is not None else scratch / "work"
        cwd.mkdir(parents=True, exist_ok=True)
        (cwd / "main.py").write_text(code, encoding="utf-8")
        out_path, err_path = scratch / "stdout", scratch / "stderr"
        try:
            exit_code, timed_out = _run_child(mechanism, limits, cwd, out_path, err_path)
        except _IsolationFailed as exc:
            raise ConfigurationError(
                f"the python tool could not set up isolation {mechanism!r}, so the code was not run: {exc}"
            ) from exc
        return PythonRun(
            exit_code=exit_code,
            stdout=_read_output(out_path, limits.max_output_chars, "stdout"),
            stderr=_read_output(err_path, limits.max_output_chars, "stderr"),
            timed_out=timed_out,
            timeout=limits.timeout,
            isolation=mechanism,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_child(
    isolation: Isolation, limits: PythonLimits, cwd: Path, out_path: Path, err_path: Path
) -> tuple[int, bool]:
    """Start the child (``_python_child.py``), wait at most the time limit, kill its group."""
    env = {"PATH": os.defpath, "HOME": str(cwd), "TMPDIR": str(cwd), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    status_read, status_write = os.pipe()
    args = [
        sys.executable,
        "-I",
        str(_CHILD),
        isolation,
        str(limits.memory_mb * 1024 * 1024),
        str(max(1, int(limits.timeout + 1))),
        str(limits.max_file_mb * 1024 * 1024),
        str(status_write),
    ]
    try:
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                pass_fds=(status_write,),
            )
            os.close(status_write)
            status_write = -1
            timed_out = False
            try:
                process.wait(timeout=limits.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(process.pid)
                process.wait()
        os.set_blocking(status_read, False)
        with contextlib.suppress(BlockingIOError):
            failure = os.read(status_read, 4096).decode(errors="replace").strip()
            if failure:
                raise _IsolationFailed(failure)
        return process.returncode, timed_out
    finally:
        os.close(status_read)
        if status_write >= 0:
            os.close(status_write)


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
    isolation: Isolation = "auto",
) -> Tool:
    """Build the ``python`` tool.

    Args:
        limits: time, memory, file-size and output bounds of each run.
        workdir: a directory kept across calls (files written by one call are seen by the next);
            by default every call gets a fresh temporary directory.
        requires_approval: ask the agent's approval callback before each run (default: yes, since
            the code is not sandboxed; see this module's docstring).
        name: the tool name the model sees.
        isolation: how the code is kept from this process's environment and memory (see the
            module docstring). ``auto`` (default) refuses to run where no mechanism works;
            ``none`` runs anyway, leaving them readable.
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
        return run_python(code, limits, workdir=directory, isolation=isolation).render()

    return Tool.from_function(
        python, name=name, timeout=limits.timeout + 10, requires_approval=requires_approval
    )


python = python_tool()
"""The ``python`` tool with default limits; it needs approval (``Agent(approve=...)``)."""

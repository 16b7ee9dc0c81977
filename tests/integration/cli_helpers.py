"""Running the real ``agentkit`` entry point: piped (subprocess) or on a pseudo-terminal (pty)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANSI = "\x1b["
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without colour and cursor-control sequences."""
    return _ESCAPES.sub("", text)


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLUMNS", "LINES"))}
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="", **extra)
    env.pop("NO_COLOR")
    return env


def run_cli(*args: str, stdin: str = "", cwd: Path | None = None, **env: str) -> Completed:
    """``python -m agentkit ARGS`` with pipes for stdin, stdout and stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=cli_env(**env),
    )
    return Completed(done.returncode, done.stdout, done.stderr)


def run_cli_pty(*args: str, stdin_lines: tuple[str, ...] = (), timeout: float = 60, **env: str) -> Completed:
    """``python -m agentkit ARGS`` with stdin, stdout and stderr on one pseudo-terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.environ.update(cli_env(TERM="xterm-256color", COLUMNS="120", **env))
        os.execv(sys.executable, [sys.executable, "-m", "agentkit", *args])
    for line in stdin_lines:
        os.write(fd, (line + "\n").encode())
    output = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        else:
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                break
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode("utf-8", "replace").replace("\r\n", "\n")
    return Completed(os.waitstatus_to_exitcode(status), text, "")


def write_script(path: Path, items: list[Any]) -> str:
    """A ``scripted:PATH`` model string for a list of replies."""
    path.write_text(json.dumps(items))
    return f"scripted:{path}"

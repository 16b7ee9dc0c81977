"""The python tool's code cannot read the secrets of the process that runs it, nor of its ancestors.

Each test starts a real chain of processes: an intermediate process and an "agent" process, both
with a fake API key in their initial environment (what ``/proc/PID/environ`` shows), the agent
process calling ``run_python``. The snippet then tries everything a snippet can: its own
``os.environ`` and ``/proc/self/environ``, the ``environ`` and ``cmdline`` of every process it can
see, and the memory (``/proc/PID/mem``) of each ancestor it can walk up to. It reports what it found
by pattern, so the secret itself never appears in the code it runs (nor in the agent's memory by
that route). With ``isolation="none"`` the same snippet finds the key: the probe is able, and the
isolation is what stops it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
from functools import cache
from typing import Any

import pytest

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the mechanisms are Linux's"),
    pytest.mark.slow,
]

NOBODY = 65534
PROBE = r"""
import json, os, re

PATTERN = re.compile(rb"agentkit-fake-secret-[0-9a-f]{32}")
found = set()


def scan(label, data):
    if PATTERN.search(data):
        found.add(label)


def grab(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def parent_of(pid):
    for line in grab(f"/proc/{pid}/status").decode().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    return 0


def scan_memory(pid):
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        memory = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError:
        return False
    read_any = False
    with memory:
        for line in maps:
            addresses, permissions = line.split()[:2]
            start, end = (int(value, 16) for value in addresses.split("-"))
            if not permissions.startswith("r") or end - start > 512 << 20:
                continue
            for offset in range(start, end, 1 << 20):
                try:
                    memory.seek(offset)
                    data = memory.read(min(end, offset + (1 << 20) + 64) - offset)
                except (OSError, ValueError, OverflowError):
                    break
                read_any = True
                scan(f"/proc/{pid}/mem", data)
    return read_any


scan("os.environ", repr(dict(os.environ)).encode())
scan("/proc/self/environ", grab("/proc/self/environ"))
visible = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
environ_readable = 0
for pid in visible:
    environ = grab(f"/proc/{pid}/environ")
    environ_readable += bool(environ)
    scan(f"/proc/{pid}/environ", environ)
    scan(f"/proc/{pid}/cmdline", grab(f"/proc/{pid}/cmdline"))
ancestors = []
pid = os.getppid()
while pid > 0 and len(ancestors) < 12:
    ancestors.append(pid)
    pid = parent_of(pid)
memory_read = [pid for pid in ancestors if scan_memory(pid)]
print(json.dumps({
    "found": sorted(found)[:40],
    "visible": len(visible),
    "environ_readable": environ_readable,
    "ancestors": ancestors,
    "memory_read": memory_read,
    "getppid": os.getppid(),
}))
"""

# The "agent": holds the key in its environment from its start, and in os.environ.
AGENT = r"""
import json, sys
{prelude}
from agentkit.errors import ConfigurationError
from agentkit.tools.python_exec import PythonLimits, run_python

try:
    run = run_python(sys.stdin.read(), PythonLimits(timeout=120, memory_mb=2048), isolation=sys.argv[1])
except ConfigurationError as exc:
    print(json.dumps({"refused": str(exc)}))
else:
    report = {"isolation": run.isolation, "exit": run.exit_code, "out": run.stdout, "err": run.stderr}
    print(json.dumps(report))
"""

# Between the test and the agent, another process with the key in its environment.
RELAY = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"

# As root: a user namespace whose own limit allows no further user namespaces, entered as `nobody`.
NO_NAMESPACES = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
ready_read, ready_write = os.pipe()
go_read, go_write = os.pipe()
child = os.fork()
if child == 0:
    if libc.unshare(0x10000000) != 0:
        os._exit(90)
    os.write(ready_write, b"x")
    os.read(go_read, 1)
    with open("/proc/sys/user/max_user_namespaces", "w") as handle:
        handle.write("0")
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    os.execv(sys.argv[1], sys.argv[1:])
os.read(ready_read, 1)
for name in ("uid_map", "gid_map"):
    with open(f"/proc/{child}/{name}", "w") as handle:
        handle.write("0 0 1\n65534 65534 1\n")
os.write(go_write, b"x")
sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
"""


def _is_root() -> bool:
    return os.geteuid() == 0


@cache
def _unprivileged_python() -> str | None:
    """An interpreter `nobody` can run (this venv's may live under root's home), or None."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, shutil.which(version, path="/usr/local/bin:/usr/bin")):
        if candidate is None or shutil.which("setpriv") is None:
            continue
        check = "import subprocess, sys; subprocess.run([sys.executable, '-c', ''], check=True)"
        done = subprocess.run(
            [*_as_nobody(), candidate, "-c", check], capture_output=True, timeout=60, cwd="/"
        )
        if done.returncode == 0:
            return candidate
    return None


def _as_nobody() -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


def _agent_command(isolation: str, python: str) -> list[str]:
    # The agent's interpreter may not be this venv's: it finds agentkit through the venv's site dir.
    prelude = f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})"
    return [python, "-c", AGENT.replace("{prelude}", prelude), isolation]


def _run_probe(isolation: str, *, identity: str) -> tuple[dict[str, Any], str]:
    """Run the probe through relay -> agent -> run_python as ``identity``; return its report and the key."""
    key = f"agentkit-fake-secret-{secrets.token_hex(16)}"
    env = {**os.environ, "OPENAI_API_KEY": key, "ANTHROPIC_API_KEY": key}
    if identity == "self":
        command = [sys.executable, "-c", RELAY, *_agent_command(isolation, sys.executable)]
    else:
        python = _unprivileged_python()
        if python is None:
            pytest.skip("no Python interpreter that user nobody may run")
        agent = _agent_command(isolation, python)
        if identity == "nobody":
            command = [*_as_nobody(), python, "-c", RELAY, *agent]
        else:  # "nobody, no namespaces"
            command = [sys.executable, "-c", NO_NAMESPACES, python, "-c", RELAY, *agent]
    done = subprocess.run(command, input=PROBE, capture_output=True, text=True, env=env, cwd="/", timeout=300)
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout)
    assert key not in done.stdout  # the report names places, never the key itself
    if "out" in outcome:
        assert outcome["exit"] == 0, outcome["err"]
        outcome["report"] = json.loads(outcome["out"])
    return outcome, key


def _identities() -> list[str]:
    return ["self", "nobody"] if _is_root() else ["self"]


@pytest.mark.parametrize("identity", _identities())
def test_without_isolation_the_probe_finds_the_key(identity: str) -> None:
    outcome, _ = _run_probe("none", identity=identity)
    report = outcome["report"]
    assert outcome["isolation"] == "none"
    # the agent's and the relay's environments are both readable, and walking up works
    assert sum(label.endswith("/environ") for label in report["found"]) >= 2, report
    assert "os.environ" not in report["found"] and "/proc/self/environ" not in report["found"]
    assert len(report["ancestors"]) >= 2


@pytest.mark.parametrize("identity", _identities())
def test_namespace_isolation_hides_every_process_outside(identity: str) -> None:
    outcome, _ = _run_probe("namespace", identity=identity)
    report = outcome["report"]
    assert outcome["isolation"] == "namespace"
    assert report["found"] == [], report
    assert report["visible"] == 2  # PID 1 (the namespace's init) and the snippet itself
    assert report["getppid"] == 1 and report["memory_read"] == []


@pytest.mark.skipif(not _is_root(), reason="capabilities isolation is for root")
def test_capabilities_isolation_keeps_root_code_out_of_root_processes() -> None:
    outcome, _ = _run_probe("capabilities", identity="self")
    report = outcome["report"]
    assert outcome["isolation"] == "capabilities"
    assert report["found"] == [], report
    assert report["visible"] > 2 and len(report["ancestors"]) >= 3  # it sees them, cannot read them
    assert report["memory_read"] == []


@pytest.mark.skipif(not _is_root(), reason="needs root to start a process as nobody")
def test_capabilities_isolation_is_refused_when_not_root() -> None:
    outcome, _ = _run_probe("capabilities", identity="nobody")
    assert "only as root" in outcome["refused"]
    assert "code was not run" in outcome["refused"]


@pytest.mark.skipif(not _is_root(), reason="needs root to build a user namespace without namespaces")
def test_auto_refuses_to_run_when_no_mechanism_works() -> None:
    outcome, _ = _run_probe("auto", identity="nobody, no namespaces")
    message = outcome["refused"]
    assert "cannot hide this process's environment and memory" in message
    assert "namespace: unshare" in message and "isolation='none'" in message


def test_auto_picks_namespaces_where_the_kernel_allows_them() -> None:
    outcome, _ = _run_probe("auto", identity="self")
    assert outcome["isolation"] == "namespace"
    assert outcome["report"]["found"] == []

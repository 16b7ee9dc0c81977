"""The first process of a ``python`` tool run: it isolates the snippet, sets its limits, runs it.

Started by :mod:`agentkit.tools.python_exec` as ``python -I _python_child.py ISOLATION MEMORY CPU
FSIZE STATUS_FD`` with a minimal environment, in the snippet's working directory. It imports nothing
from agentkit: it must hold nothing worth reading, since the snippet may find it.

``ISOLATION`` says how the snippet is kept from the parent's secrets (its environment and memory,
read through ``/proc/PID/environ`` and ``/proc/PID/mem``):

- ``namespace`` (Linux): new user, PID and mount namespaces. This process stays outside and waits;
  its child is PID 1 of the new PID namespace, mounts a fresh ``/proc`` there (it lists only the
  namespace's processes) and starts the snippet as PID 2. The snippet loses every capability before
  ``exec``, so it cannot unmount that ``/proc`` to uncover the host's. When PID 1 exits, the kernel
  kills whatever the snippet left behind, even processes that called ``setsid``.
- ``capabilities`` (Linux, as root only): the snippet loses every capability before ``exec`` (empty
  bounding set, ``no_new_privs``, root gets no capabilities back on ``exec``). The kernel then denies
  it the environment and memory of every process holding capabilities it lacks, such as any root
  process that kept them, even though they share uid 0.
- ``none``: limits only.

A set-up failure is written to ``STATUS_FD`` as one line, and the process exits with 125. That file
descriptor is closed on ``exec``: the snippet cannot write to it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import sys
from typing import NoReturn

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
PR_SET_PDEATHSIG = 1
PR_CAPBSET_READ, PR_CAPBSET_DROP = 23, 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
# SECBIT_NOROOT (+ locked): uid 0 gets no capabilities from exec; KEEP_CAPS_LOCKED; NO_CAP_AMBIENT_RAISE
# (+ locked): no way to carry capabilities into a later exec.
SECURE_BITS = 0x01 | 0x02 | 0x20 | 0x40 | 0x80
SETUP_FAILED = 125


class SetupError(Exception):
    """Isolation could not be set up; the snippet must not run."""


class Libc:
    """The few libc calls Python 3.11's ``os`` lacks, raising :class:`SetupError` with the errno."""

    def __init__(self) -> None:
        try:
            self._libc = ctypes.CDLL(None, use_errno=True)
            self._prctl = self._libc.prctl
            self._prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
        except (OSError, AttributeError) as exc:
            raise SetupError(f"libc has no prctl here ({sys.platform}): {exc}") from exc

    def _check(self, result: int, what: str) -> int:
        if result < 0:
            raise SetupError(f"{what}: {os.strerror(ctypes.get_errno())}")
        return result

    def prctl(self, option: int, argument: int, what: str) -> int:
        return self._check(self._prctl(option, argument, 0, 0, 0), what)

    def capability_exists(self, capability: int) -> bool:
        """Whether the kernel knows capability number ``capability`` (PR_CAPBSET_READ fails past the last)."""
        return bool(self._prctl(PR_CAPBSET_READ, capability, 0, 0, 0) >= 0)

    def unshare(self, flags: int) -> None:
        self._check(self._libc.unshare(ctypes.c_int(flags)), "unshare(user, pid, mount namespaces)")

    def mount(self, source: bytes, target: bytes, fstype: bytes | None, flags: int, what: str) -> None:
        self._check(self._libc.mount(source, target, fstype, ctypes.c_ulong(flags), None), what)


def drop_capabilities(libc: Libc) -> None:
    """Lose every capability for good: the next ``exec`` starts with none, whatever the uid."""
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, "set no_new_privs")
    with contextlib.suppress(SetupError):  # kernels before 4.3 have no ambient set to clear
        libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, "clear ambient capabilities")
    capability = 0
    while libc.capability_exists(capability):
        libc.prctl(PR_CAPBSET_DROP, capability, f"drop capability {capability} from the bounding set")
        capability += 1
    libc.prctl(PR_SET_SECUREBITS, SECURE_BITS, "lock the secure bits (no capabilities for root)")


def start_snippet(libc: Libc | None, limits: list[int], status_fd: int) -> NoReturn:
    """Become the snippet: drop capabilities if asked (``libc`` given), set the limits, ``exec``."""
    try:
        if libc is not None:
            drop_capabilities(libc)
        memory, cpu, fsize = limits
        for kind, value in (
            (resource.RLIMIT_AS, memory),
            (resource.RLIMIT_CPU, cpu),
            (resource.RLIMIT_FSIZE, fsize),
            (resource.RLIMIT_CORE, 0),
        ):
            if value >= 0:
                resource.setrlimit(kind, (value, value))
        os.execv(sys.executable, [sys.executable, "-I", "-X", "utf8", "main.py"])
    except (SetupError, OSError, ValueError) as exc:
        fail(status_fd, exc)


def fail(status_fd: int, error: BaseException) -> NoReturn:
    os.write(status_fd, f"{error}\n".encode(errors="replace"))
    os._exit(SETUP_FAILED)


def relay(status: int) -> NoReturn:
    """End this process the way the snippet ended: the same exit code or the same signal."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        # Python ignores SIGPIPE and SIGXFSZ by default; SIGKILL and SIGSTOP have no handler to reset
        with contextlib.suppress(OSError, ValueError):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status))


def run_in_namespaces(limits: list[int], status_fd: int) -> NoReturn:
    """Enter new namespaces, start PID 1 there, and end as the snippet ended."""
    try:
        libc = Libc()
        uid, gid = os.geteuid(), os.getegid()
        libc.unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS)
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
        libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, "make mounts private")
    except (SetupError, OSError) as exc:
        fail(status_fd, exc)
    read_end, write_end = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(read_end)
        namespace_init(libc, limits, status_fd, write_end)
    os.close(write_end)
    _, status = os.waitpid(init, 0)
    reported = os.read(read_end, 32)
    relay(int(reported) if reported else status)


def namespace_init(libc: Libc, limits: list[int], status_fd: int, report_fd: int) -> NoReturn:
    """PID 1 of the new namespace: mount its /proc, run the snippet, reap orphans, report its status."""
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, "die with the waiting parent")
        libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mount a fresh /proc")
        snippet = os.fork()
    except (SetupError, OSError) as exc:
        fail(status_fd, exc)
    if snippet == 0:
        os.close(report_fd)
        start_snippet(libc, limits, status_fd)
    os.close(status_fd)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        if pid == snippet:
            os.write(report_fd, str(status).encode())
            os._exit(0)  # the kernel now kills everything left in the namespace


def main(argv: list[str]) -> NoReturn:
    isolation = argv[1]
    limits = [int(value) for value in argv[2:5]]
    status_fd = int(argv[5])
    os.set_inheritable(status_fd, False)  # closed when the snippet is exec'd
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # relaying SIGXCPU must not dump a core here
    if isolation == "namespace":
        run_in_namespaces(limits, status_fd)
    if isolation == "capabilities":
        if os.geteuid() != 0:
            fail(status_fd, SetupError("dropping capabilities hides other processes only as root"))
        try:
            libc = Libc()
        except SetupError as exc:
            fail(status_fd, exc)
        start_snippet(libc, limits, status_fd)
    start_snippet(None, limits, status_fd)


if __name__ == "__main__":
    main(sys.argv)

"""Session leases: one run at a time per session id, across threads, processes and machines.

Two runs of one conversation at once would interleave their turns and leave a history no model
accepts, so a run takes the session's lease before it reads the history and gives it back when it ends
(``Agent.arun`` and ``run_stream`` do this). A lease is a row in the store: the session id, a random
token, who holds it (owner, host, pid) and when it expires. While it is held, one thread per process
renews every lease of that process each ``ttl / 3`` seconds, so a live holder keeps its lease however
long it runs. A holder that dies without giving it back (kill -9, a lost machine) stops renewing: its
lease can be taken ``ttl`` seconds after the last renewal, or at once by a process on the same host
when the holder's process is gone.

Appends check the lease in the same transaction as they write (fencing): while another runner holds
the session, or after this one lost its lease (paused past the expiry while someone else took over),
``append`` raises :class:`SessionBusyError` rather than interleave.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from agentkit.errors import SessionBusyError, SessionError

DEFAULT_TTL = 30.0
"""Seconds a lease lasts after its last renewal: how long a session stays locked after its holder
died on another machine (or in a process whose death this host cannot see)."""


@functools.cache
def host_identity() -> str:
    """This host as leases name it: the host name, plus the PID namespace where there is one (two
    containers with one host name do not see each other's processes)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}" if namespace else socket.gethostname()


def default_owner() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    try:  # a killed process its parent has not reaped yet is a zombie: gone for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


_ABANDONED: set[str] = set()
"""Tokens of this process's leases that ended while the store was unreachable (their rows may still
be there): this process knows they are over and does not wait for them to expire."""


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """The current holder of a session's lease, as its row says."""

    token: str
    owner: str
    host: str
    pid: int
    expires_in: float  # seconds; zero or less: expired

    def is_over(self) -> bool:
        """Expired, given up by this process, or held by a process of this host that no longer exists."""
        if self.expires_in <= 0 or self.token in _ABANDONED:
            return True
        return self.host == host_identity() and not _process_alive(self.pid)


def busy_error(session: str, holder: LeaseHolder) -> SessionBusyError:
    return SessionBusyError(
        f"{session} is in use by another run ({holder.owner}); its lease lasts {holder.expires_in:.0f} s "
        "more unless renewed. Two runs of one conversation would interleave their turns: wait until that "
        "run ends (if its process died on another machine, the lease expires by itself), or fork the "
        "session to run a copy",
        owner=holder.owner,
        expires_in=holder.expires_in,
    )


def lost_error(session: str) -> SessionBusyError:
    return SessionBusyError(
        f"{session}: this run lost its lease (it was not renewed in time, and another run took the "
        "session over); nothing more is journaled from this run. Everything journaled before is kept: "
        "resume the session once the other run ends"
    )


def check_fence(session: str, token: str | None, holder: LeaseHolder | None) -> None:
    """Refuse an append (inside its transaction) that would interleave with another run's turns:
    ``token`` is this session object's lease, ``holder`` the lease row as the transaction sees it."""
    if token is not None:
        if holder is None or holder.token != token:
            raise lost_error(session)
    elif holder is not None and not holder.is_over():
        raise busy_error(session, holder)


class LeaseStore(Protocol):
    """What a store provides for :class:`Lease` (each method is one transaction)."""

    _lease_token: str | None

    def _describe(self) -> str:
        """``session 'ID' in WHERE``, for messages."""
        ...

    def _acquire_lease(self, token: str, owner: str, ttl: float) -> LeaseHolder | None:
        """Take the lease (``None``) unless a holder whose lease is not over keeps it (that holder)."""
        ...

    def _renew_lease(self, token: str, ttl: float) -> bool:
        """Extend our lease; ``False`` when it is no longer ours."""
        ...

    def _release_lease(self, token: str) -> None: ...


class Lease:
    """A held lease: a context manager, entered by a store's ``lease(owner)``."""

    def __init__(self, store: LeaseStore, owner: str | None, ttl: float, wait: float) -> None:
        if ttl <= 0 or wait < 0:
            raise SessionError(f"a lease needs ttl > 0 and wait >= 0, got ttl={ttl!r}, wait={wait!r}")
        self.store = store
        self.owner = owner or default_owner()
        self.ttl = ttl
        self.wait = wait
        self.token = uuid.uuid4().hex
        self.lost = False
        self.next_renewal = 0.0

    def __enter__(self) -> Lease:
        if self.store._lease_token is not None:
            raise SessionBusyError(
                f"{self.store._describe()} is already leased through this session object (a run is "
                "using it); open another session object only to run a fork"
            )
        deadline, pause = time.monotonic() + self.wait, 0.02
        while (holder := self.store._acquire_lease(self.token, self.owner, self.ttl)) is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise busy_error(self.store._describe(), holder)
            time.sleep(min(left, pause))
            pause = min(pause * 2, 0.5)
        self.store._lease_token = self.token
        self.next_renewal = time.monotonic() + self.ttl / 3
        _RENEWER.add(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        _RENEWER.remove(self)
        self.store._lease_token = None
        try:
            self.store._release_lease(self.token)
        except SessionError:  # unreachable: other processes wait for the expiry, this one need not
            _ABANDONED.add(self.token)

    def renew(self) -> None:
        """Called by the renewer thread; a failure is retried soon, a lost lease is not renewed again."""
        try:
            still_ours = self.store._renew_lease(self.token, self.ttl)
        except SessionError:  # the store is unreachable for now: try again soon, the lease has ttl left
            self.next_renewal = time.monotonic() + min(1.0, self.ttl / 6)
            return
        if still_ours:
            self.next_renewal = time.monotonic() + self.ttl / 3
        else:
            self.lost = True


class _Renewer:
    """The one thread per process that renews every held lease (started on demand, gone when idle)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._leases: dict[int, Lease] = {}
        self._thread: threading.Thread | None = None

    def add(self, lease: Lease) -> None:
        with self._condition:
            self._leases[id(lease)] = lease
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="agentkit-lease-renewer", daemon=True)
                self._thread.start()
            self._condition.notify()

    def remove(self, lease: Lease) -> None:
        with self._condition:
            self._leases.pop(id(lease), None)
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                if not self._leases:
                    self._thread = None
                    return
                now = time.monotonic()
                first = min(lease.next_renewal for lease in self._leases.values())
                if first > now:
                    self._condition.wait(first - now)
                    continue
                # Renew, in one round, every lease that would be due shortly after.
                due = [lease for lease in self._leases.values() if lease.next_renewal <= now + lease.ttl / 6]
            for lease in due:
                lease.renew()
                if lease.lost:
                    self.remove(lease)

    def reset_after_fork(self) -> None:
        """A forked child has none of its parent's threads and holds none of its leases."""
        self._condition = threading.Condition()
        self._leases = {}
        self._thread = None


_RENEWER = _Renewer()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_RENEWER.reset_after_fork)

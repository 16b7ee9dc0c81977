"""A throwaway PostgreSQL server for tests: its own data directory, a free port, started and stopped by
the test session (no system service, nothing left behind).

    with PostgresServer() as server:
        url = server.url                     # postgresql://agentkit@127.0.0.1:PORT/postgres
        server.stop(); server.start()        # a restart, for the reconnect tests

The binaries come from Debian's ``postgresql`` package (``make test`` installs it when missing):
``pg_config --bindir`` names their folder. PostgreSQL refuses to run as root, so as root the server runs
as the ``postgres`` user, in a temporary directory that user owns.

``python -m tests.pg_server --check`` (from the checkout) exits 0 when the binaries are there (the
Makefile asks it).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.ports import free_port

USER = "agentkit"


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL's server is not installed."""
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)  # newest version first
    for name in ("initdb", "pg_ctl"):
        found = shutil.which(name)
        if found:
            candidates.append(str(Path(os.path.realpath(found)).parent))
    for folder in candidates:
        if folder and all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory; ``url`` connects as a superuser."""

    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: run `make test`, which "
                "installs Debian's postgresql package, or `apt-get install -y postgresql`"
            )
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="agentkit-pg-"))
        self.running = False
        self._as_postgres = os.geteuid() == 0  # the server refuses root
        try:
            if self._as_postgres:
                account = pwd.getpwnam("postgres")
                os.chown(self.dir, account.pw_uid, account.pw_gid)
            self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", USER, "-E", "UTF8")
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.dir)
        if done.returncode != 0:
            log = self.dir / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}\n{tail}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.dir / "data"), str(self.dir / "log")
        self._run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as a crash would, without a shutdown checkpoint)."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "-t", "60", "stop")
            self.running = False

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            for attempt in range(3):
                try:
                    self.start()
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
                    self.port = free_port()  # another process took the port meanwhile
                    time.sleep(0.2)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if find_bindir() else 1)
    with PostgresServer() as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)

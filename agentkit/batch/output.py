"""The results file: JSON lines, one final result per task, appended as tasks finish.

The first line is a header naming the batch that owns the file::

    {"agentkit_batch": {"version": 1, "batch_id": "…", "tasks": "…", "agent": "…", "created": "…"}}

so that a rerun of the same batch resumes into it (the ids already there are skipped) while another
batch is refused instead of mixing its results in (``force=True`` replaces the file).

One process writes a results file at a time (an exclusive ``flock``, which the kernel releases when
the process ends, kill -9 included).

Crash safety: each result is one ``write`` of one whole line to a file opened with ``O_APPEND``, so a
process killed with SIGKILL leaves every finished line in the file (the kernel has it) and at most one
cut line at the end; :func:`scan_output` ignores that cut tail and :class:`ResultsWriter` truncates
it before appending, so a resumed batch never glues a new line onto half an old one. The task of a
cut line is not done: its result is recovered from the journal, or the task is resumed. ``fsync``
runs at most every ``fsync_interval`` seconds and at close (a power cut may lose that last second of
lines, never corrupt earlier ones).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agentkit.batch.task import BatchResult
from agentkit.errors import ConfigurationError

HEADER_KEY = "agentkit_batch"
FORMAT_VERSION = 1


class OutputOwnedError(ConfigurationError):
    """The results file belongs to another batch (or is not a results file at all)."""


@dataclass(frozen=True, slots=True)
class BatchIdentity:
    """What makes two runs "the same batch": an id, and the description shown when they differ."""

    batch_id: str
    description: Mapping[str, Any] = field(default_factory=dict)

    def header(self) -> dict[str, Any]:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        return {
            HEADER_KEY: {
                "version": FORMAT_VERSION,
                "batch_id": self.batch_id,
                **self.description,
                "created": created,
            }
        }


@dataclass(slots=True)
class OutputScan:
    """What an existing results file holds: its owner, the finished task ids, and where its last whole
    line ends (a cut tail beyond ``valid_end`` is dropped before appending)."""

    exists: bool = False
    header: dict[str, Any] | None = None
    done: set[str] = field(default_factory=set)
    valid_end: int = 0
    cut_tail: bool = False
    unreadable_lines: list[int] = field(default_factory=list)


def scan_output(path: str | os.PathLike[str]) -> OutputScan:
    """Read a results file without changing it (missing: an empty scan)."""
    scan = OutputScan()
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return scan
    except OSError as exc:
        raise ConfigurationError(f"cannot read output {os.fspath(path)}: {exc.strerror or exc}") from None
    scan.exists = True
    with stream:
        number = 0
        offset = 0
        for raw in stream:
            number += 1
            if not raw.endswith(b"\n"):
                scan.cut_tail = True  # killed mid-write: not a result
                break
            offset += len(raw)
            scan.valid_end = offset
            if not raw.strip():
                continue
            try:
                document = json.loads(raw)
            except ValueError:
                scan.unreadable_lines.append(number)
                continue
            if number == 1 and isinstance(document, dict) and HEADER_KEY in document:
                header = document[HEADER_KEY]
                scan.header = header if isinstance(header, dict) else {}
                continue
            if isinstance(document, dict) and isinstance(document.get("id"), str):
                scan.done.add(document["id"])
            else:
                scan.unreadable_lines.append(number)
    return scan


def belongs_to(scan: OutputScan, identity: BatchIdentity) -> bool:
    """Whether a batch may append to the scanned file: it is new, empty, or this batch's own."""
    if not scan.exists or (scan.valid_end == 0 and scan.header is None):
        return True
    return scan.header is not None and scan.header.get("batch_id") == identity.batch_id


def check_owner(path: str | os.PathLike[str], scan: OutputScan, identity: BatchIdentity) -> None:
    """Raise :class:`OutputOwnedError` unless the file is new, empty or this batch's own."""
    if belongs_to(scan, identity):
        return
    where = os.fspath(path)
    if scan.header is None:
        raise OutputOwnedError(
            f"{where} is not an agentkit batch results file (no header line); use another --out, "
            "or --force to replace it"
        )
    owner = scan.header.get("batch_id")
    theirs = {k: v for k, v in scan.header.items() if k not in ("version", "batch_id", "created")}
    differences = [
        f"{key}: {theirs.get(key)!r} there, {value!r} now"
        for key, value in identity.description.items()
        if theirs.get(key) != value
    ]
    detail = "; ".join(differences) if differences else f"batch id {owner!r} there, {identity.batch_id!r} now"
    raise OutputOwnedError(
        f"{where} belongs to another batch ({detail}); use another --out, or --force to replace it"
    )


def _lock(fd: int, path: str) -> None:
    """Hold the file alone (released when the process ends, however it ends): two batches appending
    to one results file would run the same tasks and write them twice."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise OutputBusyError(
            f"{path} is being written by another running agentkit batch; wait for it, or stop it and "
            "rerun (it resumes)"
        ) from None


class OutputBusyError(ConfigurationError):
    """Another process is writing the results file."""


class ResultsWriter:
    """Appends final results to the file, one whole line per ``write``; see the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        identity: BatchIdentity,
        scan: OutputScan,
        *,
        replace: bool = False,
        fsync_interval: float = 1.0,
        with_messages: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.with_messages = with_messages
        self.fsync_interval = fsync_interval
        self._last_sync = time.monotonic()
        self._dirty = False
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise ConfigurationError(f"cannot write output {self.path}: {exc.strerror or exc}") from None
        try:
            _lock(self._fd, self.path)
            if replace or scan.header is None:
                os.ftruncate(self._fd, 0)
                self._write_line(json.dumps(identity.header(), ensure_ascii=False))
            elif scan.cut_tail or os.fstat(self._fd).st_size != scan.valid_end:
                os.ftruncate(self._fd, scan.valid_end)
            self.sync()
        except BaseException:
            os.close(self._fd)
            raise

    def _write_line(self, text: str) -> None:
        data = (text + "\n").encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # a short write (disk full mid-line) continues where it stopped
            written += os.write(self._fd, data[written:])
        self._dirty = True

    def write(self, result: BatchResult) -> None:
        """Append one final result; fsync when the interval has passed."""
        document = result.to_json(with_messages=self.with_messages)
        self._write_line(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
        if self.fsync_interval <= 0 or time.monotonic() - self._last_sync >= self.fsync_interval:
            self.sync()

    def sync(self) -> None:
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if self._fd >= 0:
            try:
                self.sync()
            finally:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_results(path: str | os.PathLike[str]) -> list[BatchResult]:
    """Every result in a results file (the header and a cut tail skipped), for scripts and tests."""
    results = []
    with open(path, "rb") as stream:
        for number, raw in enumerate(stream, 1):
            if not raw.endswith(b"\n") or not raw.strip():
                continue
            document = json.loads(raw)
            if number == 1 and HEADER_KEY in document:
                continue
            results.append(BatchResult.from_json(document))
    return results

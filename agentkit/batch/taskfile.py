"""Reading a JSON-lines task file: one :class:`Task` per line, and a :class:`TaskProblem` for each line
that cannot be one.

    {"id": "t1", "prompt": "What is 2 + 3?"}
    {"id": "t2", "prompt": "Summarise ticket 7", "metadata": {"queue": "billing"}}
    {"id": "t3", "prompt": "And in French?", "session": "user-42"}

The file is untrusted input: it is read lazily, line by line (a million tasks never sit in memory,
only their ids, to catch duplicates), a line longer than ``MAX_LINE_BYTES`` is skipped without being
held whole, and every problem (bad JSON, bad UTF-8, a missing or mistyped field, an unknown field, a
duplicate id, a session already used by another task) becomes a ``TaskProblem`` naming its line:
the batch reports it, counts it and goes on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Literal

from agentkit.batch.task import Task
from agentkit.errors import ConfigurationError

MAX_LINE_BYTES = 16 * 1024 * 1024
FIELDS = ("id", "prompt", "session", "metadata")


@dataclass(frozen=True, slots=True)
class TaskProblem:
    """A line that was skipped: ``kind`` is ``malformed`` or ``duplicate``."""

    line: int
    kind: Literal["malformed", "duplicate"]
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class _InvalidTask(ValueError):
    """A task document that is not a valid task (the message says which field and why)."""


def task_from_json(document: Any) -> Task:
    """A :class:`Task` from one decoded line; raises :class:`_InvalidTask` saying what to fix."""
    if not isinstance(document, dict):
        raise _InvalidTask(f"expected a JSON object, got {type(document).__name__}")
    unknown = [key for key in document if key not in FIELDS]
    if unknown:
        raise _InvalidTask(
            f"unknown field(s) {', '.join(map(repr, unknown))}; a task has {', '.join(FIELDS)} "
            "(put anything else under metadata)"
        )
    task_id = document.get("id")
    if isinstance(task_id, bool) or not isinstance(task_id, str | int):
        raise _InvalidTask('"id" is required: a string or an integer')
    task_id = str(task_id)
    if not task_id.strip():
        raise _InvalidTask('"id" is empty')
    prompt = document.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _InvalidTask(f'task {task_id!r}: "prompt" is required: a non-empty string')
    session = document.get("session")
    if session is not None and (not isinstance(session, str) or not session.strip()):
        raise _InvalidTask(f'task {task_id!r}: "session" must be a non-empty string')
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _InvalidTask(f'task {task_id!r}: "metadata" must be an object')
    return Task(task_id, prompt, session, metadata)


class TaskChecker:
    """Remembers the ids (and sessions) seen so far, to turn repeats into problems: the first
    occurrence wins and the later one is skipped."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._sessions: dict[str, str] = {}

    def check(self, task: Task, line: int) -> TaskProblem | None:
        first = self._ids.get(task.id)
        if first is not None:
            message = f"duplicate id {task.id!r} (first on line {first})"
            return TaskProblem(line, "duplicate", message)
        if task.session is not None:
            owner = self._sessions.get(task.session)
            if owner is not None:
                return TaskProblem(
                    line,
                    "duplicate",
                    f"task {task.id!r}: session {task.session!r} is already used by task {owner!r} "
                    f"(line {self._ids[owner]}); two runs cannot share one conversation",
                )
            self._sessions[task.session] = task.id
        self._ids[task.id] = line
        return None


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) for each line; ``None`` for a line over MAX_LINE_BYTES (read past, not kept)."""
    number = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):
                chunk = stream.readline(MAX_LINE_BYTES)
            yield number, None
            continue
        yield number, chunk


def parse_lines(lines: Iterable[tuple[int, bytes | None]]) -> Iterator[Task | TaskProblem]:
    """Tasks and problems from numbered raw lines (blank lines are skipped silently)."""
    checker = TaskChecker()
    for number, raw in lines:
        if raw is None:
            yield TaskProblem(number, "malformed", f"longer than {MAX_LINE_BYTES} bytes")
            continue
        if not raw.strip():
            continue
        try:
            task = task_from_json(json.loads(raw))
        except UnicodeDecodeError as exc:
            yield TaskProblem(number, "malformed", f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        except json.JSONDecodeError as exc:
            yield TaskProblem(number, "malformed", f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            yield TaskProblem(number, "malformed", "JSON nested too deeply")
            continue
        except _InvalidTask as exc:
            yield TaskProblem(number, "malformed", str(exc))
            continue
        problem = checker.check(task, number)
        yield task if problem is None else problem


def read_tasks(path: str | os.PathLike[str]) -> Iterator[Task | TaskProblem]:
    """Tasks from a JSON-lines file, lazily; raises ConfigurationError if the file cannot be opened."""
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the generator below
    except OSError as exc:
        raise ConfigurationError(f"cannot read task file {os.fspath(path)}: {exc.strerror or exc}") from None

    def generate() -> Iterator[Task | TaskProblem]:
        with stream:
            yield from parse_lines(_lines(stream))

    return generate()


def tasks_from(items: Iterable[Task | TaskProblem | Mapping[str, Any] | str]) -> Iterator[Task | TaskProblem]:
    """Tasks from Python values: Task objects, task dicts, or bare prompts (their index is the id).
    Problems are numbered by position (from 1), like lines; problems already found (by
    :func:`read_tasks`) pass through."""
    checker = TaskChecker()
    for number, item in enumerate(items, 1):
        if isinstance(item, TaskProblem):
            yield item
            continue
        if isinstance(item, Task):
            task = item
        elif isinstance(item, str):
            task = Task(str(number - 1), item)
        else:
            try:
                task = task_from_json(dict(item))
            except (_InvalidTask, TypeError, ValueError) as exc:
                yield TaskProblem(number, "malformed", str(exc))
                continue
        problem = checker.check(task, number)
        yield task if problem is None else problem


def count_lines(path: str | os.PathLike[str]) -> int:
    """Non-blank lines in a file (a progress bar's total), without parsing them."""
    with open(path, "rb") as stream:
        return sum(1 for _, raw in _lines(stream) if raw is None or raw.strip())

"""What a batch runs and what it gives back: :class:`Task`, :class:`BatchResult`, :class:`TaskError`.

Results are plain, picklable dataclasses (they cross process boundaries on Ray) with a JSON form that
is one line of the results file. A result is *final* when the task reached an end of its own (an
answer, a limit, an error the user must fix); a *resumable* error means the infrastructure failed
(the model server stayed unreachable, the journal lost its connection, a worker kept dying) and
rerunning the batch resumes the task from its journal. Only final results are written to the output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentkit.messages import Message, Usage
from agentkit.result import StopReason


@dataclass(frozen=True, slots=True)
class Task:
    """One agent run of a batch.

    Args:
        id: unique within the batch; results and the journal are keyed by it.
        prompt: the user message the run starts from.
        session: continue this conversation of the journal instead of a fresh one per task.
        metadata: copied unchanged into the task's result (labels, expected answers, ...).
    """

    id: str
    prompt: str
    session: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskError:
    """Why a task failed: the exception's class name and message, and whether a rerun resumes it."""

    type: str
    message: str
    resumable: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "resumable": self.resumable}


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of one task.

    ``output`` is the run's answer (``None`` unless ``stop_reason == "final_answer"``); ``usage`` and
    ``steps`` count the model calls made to finish it (a task resumed after a crash does not count
    the calls made before the crash: they were not journaled). ``attempts`` counts task-level retries;
    ``resumed`` says the run continued a journaled conversation. ``messages`` is filled only when the
    batch was asked to keep them.
    """

    task_id: str
    output: Any = None
    text: str | None = None
    stop_reason: StopReason | None = None
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    error: TaskError | None = None
    duration: float = 0.0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    session: str | None = None
    attempts: int = 1
    resumed: bool = False
    worker: str | None = None
    messages: Sequence[Message] | None = None

    @property
    def ok(self) -> bool:
        """The task ended with a final answer."""
        return self.error is None and self.stop_reason == "final_answer"

    @property
    def final(self) -> bool:
        """The task reached an end of its own (anything but a resumable error)."""
        return self.error is None or not self.error.resumable

    def replace(self, **changes: Any) -> BatchResult:
        return dataclasses.replace(self, **changes)

    def to_json(self, *, with_messages: bool = False) -> dict[str, Any]:
        """The result as a JSON-able dict: one line of the results file."""
        from pydantic_core import to_jsonable_python

        document: dict[str, Any] = {
            "id": self.task_id,
            "ok": self.ok,
            "output": to_jsonable_python(self.output, fallback=repr),
            "text": self.text,
            "stop_reason": self.stop_reason,
            "steps": self.steps,
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "requests": self.usage.requests,
            },
            "error": self.error.to_json() if self.error is not None else None,
            "duration_s": round(self.duration, 6),
            "attempts": self.attempts,
            "resumed": self.resumed,
            "session": self.session,
            "metadata": to_jsonable_python(dict(self.metadata), fallback=repr),
        }
        if self.worker is not None:
            document["worker"] = self.worker
        if with_messages and self.messages is not None:
            document["messages"] = [m.model_dump(mode="json") for m in self.messages]
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> BatchResult:
        """Rebuild a result from :meth:`to_json` (``output`` stays JSON; ``messages`` are not kept)."""
        error = document.get("error")
        usage = document.get("usage") or {}
        return cls(
            task_id=str(document["id"]),
            output=document.get("output"),
            text=document.get("text"),
            stop_reason=document.get("stop_reason"),
            steps=int(document.get("steps", 0)),
            usage=Usage(
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                requests=int(usage.get("requests", 0)),
            ),
            error=TaskError(str(error["type"]), str(error["message"]), bool(error.get("resumable")))
            if error
            else None,
            duration=float(document.get("duration_s", 0.0)),
            metadata=dict(document.get("metadata") or {}),
            session=document.get("session"),
            attempts=int(document.get("attempts", 1)),
            resumed=bool(document.get("resumed", False)),
            worker=document.get("worker"),
        )

"""Traces as JSON lines: one record per typed event, redacted, written as the run happens.

Record kinds (field ``type``): ``run_started`` (format version, model, tools, the starting messages),
``step_started``, ``text_delta``, ``model_responded``, ``tool_call_started``, ``tool_progress``,
``tool_call_finished``,
``output_rejected`` (with the exact feedback message the model was sent), ``run_finished`` and
``run_failed``. Every record has ``run`` (a counter within the file) and ``t`` (seconds since the run
started). :func:`agentkit.tracing.replay_messages` rebuilds a run's messages from these records.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any

from pydantic_core import to_jsonable_python

from agentkit.events import (
    AgentEvent,
    FinalOutput,
    HandedOff,
    ModelResponded,
    ModelTextDelta,
    OutputRejected,
    RunFailed,
    RunStarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
)
from agentkit.output import output_retry_message
from agentkit.tracing.observe import RunStart, model_label
from agentkit.tracing.redact import Redactor

TRACE_FORMAT = "agentkit.trace/1"


def _jsonable(value: Any) -> Any:
    return to_jsonable_python(value, fallback=repr)


def event_record(event: AgentEvent, *, output_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON record of one event (not yet redacted), with the path of the agent that made it."""
    record = _record(event, output_schema)
    if event.path:
        record["path"] = event.path
    return record


def _record(event: AgentEvent, output_schema: dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(event, RunStarted):  # a child agent's run: the run's own start is run_started
        return {
            "type": "agent_started",
            "run_id": event.run_id,
            "parent_run_id": event.parent_run_id,
            "parent_call_id": event.parent_call_id,
            "model": event.model,
            "tools": list(event.tools),
            "messages": [m.model_dump(mode="json") for m in event.messages],
        }
    if isinstance(event, HandedOff):
        return {"type": "handed_off", "step": event.step, "source": event.source, "target": event.target}
    if isinstance(event, StepStarted):
        return {"type": "step_started", "step": event.step}
    if isinstance(event, ModelTextDelta):
        return {"type": "text_delta", "step": event.step, "text": event.text}
    if isinstance(event, ModelResponded):
        return {
            "type": "model_responded",
            "step": event.step,
            "message": event.message.model_dump(mode="json"),
            "usage": event.usage.model_dump(),
            "duration_s": round(event.duration_s, 6),
        }
    if isinstance(event, ToolCallStarted):
        return {"type": "tool_call_started", "step": event.step, "call": event.call.model_dump(mode="json")}
    if isinstance(event, ToolProgress):
        return {
            "type": "tool_progress",
            "step": event.step,
            "call_id": event.call.id,
            "name": event.call.name,
            "progress": event.progress,
            "total": event.total,
            "message": event.message,
        }
    if isinstance(event, ToolCallFinished):
        return {
            "type": "tool_call_finished",
            "step": event.step,
            "call": event.call.model_dump(mode="json"),
            "content": event.result.content,
            "is_error": event.result.is_error,
            "error_type": type(event.result.error).__name__ if event.result.error is not None else None,
            "duration_s": round(event.duration_s, 6),
        }
    if isinstance(event, OutputRejected):
        feedback = output_retry_message(event.error, output_schema).content
        return {"type": "output_rejected", "step": event.step, "error": event.error, "feedback": feedback}
    if isinstance(event, FinalOutput):
        result = event.result
        return {
            "type": "run_finished",
            "run_id": result.run_id,
            "stop_reason": result.stop_reason,
            "steps": result.steps,
            "usage": result.usage.model_dump(),
            "output": _jsonable(event.output),
            "text": result.text,
        }
    if isinstance(event, RunFailed):
        record: dict[str, Any] = {
            "type": "run_failed",
            "error_type": type(event.error).__name__,
            "error": str(event.error),
        }
        if event.result is not None:
            record.update(
                run_id=event.result.run_id,
                stop_reason=event.result.stop_reason,
                steps=event.result.steps,
                usage=event.result.usage.model_dump(),
            )
        return record
    raise TypeError(f"not an agent event: {type(event).__name__}")  # pragma: no cover


class JsonlTrace:
    """A :class:`~agentkit.tracing.RunObserver` that appends each event as a JSON line.

    Lines are flushed as they are written, so a crashed or killed run leaves a readable trace. Several
    runs (a chat) may share one file; each starts with a ``run_started`` record.
    """

    def __init__(
        self,
        target: str | Path | IO[str],
        *,
        redactor: Redactor | None = None,
        text_deltas: bool = True,
    ) -> None:
        self._owned = isinstance(target, str | Path)
        self._file: IO[str]
        if isinstance(target, str | Path):
            self._file = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        else:
            self._file = target
        self.redactor = redactor or Redactor()
        self.text_deltas = text_deltas
        self._run = 0
        self._depth = 0
        self._started = 0.0
        self._output_schema: dict[str, Any] | None = None

    def _write(self, record: dict[str, Any]) -> None:
        record = {"run": self._run, "t": round(time.monotonic() - self._started, 6), **record}
        self._file.write(json.dumps(self.redactor.value(record), ensure_ascii=False) + "\n")
        self._file.flush()

    def run_started(self, start: RunStart) -> None:
        self._run += 1
        self._started = time.monotonic()
        agent = start.agent
        self._output_schema = agent.output.schema
        self._depth = 0
        self._write(
            {
                "type": "run_started",
                "format": TRACE_FORMAT,
                "time": start.started_at,
                "path": agent.name,
                "model": model_label(agent.backend),
                "backend": agent.backend.name,
                "tools": list(start.tools) or list(agent.registry.names),
                "max_steps": agent.limits.max_steps,
                "prompt": start.prompt,
                "messages": [m.model_dump(mode="json") for m in start.messages],
            }
        )

    def on_event(self, event: AgentEvent) -> None:
        if isinstance(event, ModelTextDelta) and not self.text_deltas:
            return
        record = event_record(event, output_schema=self._output_schema)
        if isinstance(event, FinalOutput | RunFailed) and event.path.count("/") > self._depth:
            # a child agent's end: run_finished / run_failed stay the marks of the traced run's own
            record["type"] = "agent_finished" if isinstance(event, FinalOutput) else "agent_failed"
        self._write(record)

    def run_ended(self) -> None:
        self._file.flush()

    def close(self) -> None:
        """Close the file if this trace opened it."""
        if self._owned:
            self._file.close()

    def __enter__(self) -> JsonlTrace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

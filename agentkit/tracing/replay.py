"""Rebuild a run's conversation from its JSON-lines trace.

The trace holds the starting messages and every event; replaying applies them in the order the loop
does (assistant message, then one tool message per call in call order, then any output-retry
feedback). Child agents' records (a deeper ``path``) belong to their own conversations and are
skipped. The trace was redacted as it was written, so the result equals the traced run's
``RunResult.messages`` with every secret replaced by ``[REDACTED]``: :func:`redacted_messages` of
them. When nothing in the run matched the trace's redactor, that is ``RunResult.messages`` itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from agentkit.errors import ConfigurationError
from agentkit.messages import AssistantMessage, Message, ToolMessage, UserMessage
from agentkit.tracing.jsonl import TRACE_FORMAT
from agentkit.tracing.redact import Redactor

_message: TypeAdapter[Message] = TypeAdapter(Message)
CANCELLED_TEXT = "Cancelled before it finished."


@dataclass
class TraceRun:
    """The records of one run in a trace file."""

    number: int
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def start(self) -> dict[str, Any]:
        return self.records[0]

    @property
    def end(self) -> dict[str, Any] | None:
        last = self.records[-1]
        return last if last["type"] in ("run_finished", "run_failed") else None


def read_trace(path: str | Path) -> list[TraceRun]:
    """The runs of a trace file, in order. A torn last line (a killed process) is ignored."""
    runs: list[TraceRun] = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):
                break
            raise ConfigurationError(f"{path}:{number}: not a JSON trace line ({exc.msg})") from None
        if record.get("type") == "run_started":
            if record.get("format") != TRACE_FORMAT:
                raise ConfigurationError(
                    f"{path}:{number}: unsupported trace format {record.get('format')!r} "
                    f"(expected {TRACE_FORMAT})"
                )
            runs.append(TraceRun(record.get("run", len(runs) + 1)))
        elif not runs:
            raise ConfigurationError(f"{path}:{number}: trace does not start with a run_started record")
        runs[-1].records.append(record)
    return runs


def _flush_tools(messages: list[Message], pending: dict[str, ToolMessage]) -> None:
    """Append the tool messages of the last assistant message in call order (as the loop does)."""
    last = messages[-1] if messages else None
    if not isinstance(last, AssistantMessage) or not last.tool_calls:
        return
    for call in last.tool_calls:
        found = pending.pop(call.id, None)
        messages.append(
            found or ToolMessage(tool_call_id=call.id, name=call.name, content=CANCELLED_TEXT, is_error=True)
        )


def replay_run(run: TraceRun) -> list[Message]:
    """The messages of one traced run, rebuilt from its events."""
    messages: list[Message] = [_message.validate_python(m) for m in run.start["messages"]]
    pending: dict[str, ToolMessage] = {}
    in_tools = False
    depth = str(run.start.get("path", "")).count("/")
    for record in run.records[1:]:
        if str(record.get("path", "")).count("/") > depth:
            continue  # a child agent's record: its conversation is its own, not the run's
        kind = record["type"]
        if kind == "model_responded":
            messages.append(AssistantMessage.model_validate(record["message"]))
            in_tools = bool(messages[-1].tool_calls)  # type: ignore[union-attr]
            pending = {}
            continue
        if kind == "tool_call_finished":
            call = record["call"]
            pending[call["id"]] = ToolMessage(
                tool_call_id=call["id"],
                name=call["name"],
                content=record["content"],
                is_error=record["is_error"],
            )
            continue
        if kind == "tool_call_started":
            continue
        if in_tools and kind in ("step_started", "run_finished", "run_failed", "output_rejected"):
            _flush_tools(messages, pending)
            in_tools = False
        if kind == "output_rejected":
            messages.append(UserMessage(content=record["feedback"]))
    if in_tools:
        _flush_tools(messages, pending)
    return messages


def redacted_messages(messages: list[Message], redactor: Redactor) -> list[Message]:
    """What a trace written with ``redactor`` replays ``messages`` as: each message through its JSON
    form, with every string (contents, tool arguments and results, names, ids) redacted."""
    return [_message.validate_python(redactor.value(m.model_dump(mode="json"))) for m in messages]


def replay_messages(path: str | Path, run: int = -1) -> list[Message]:
    """The conversation of a traced run (the last one by default; runs count from 0 like a list)."""
    runs = read_trace(path)
    if not runs:
        raise ConfigurationError(f"{path}: the trace holds no run")
    try:
        chosen = runs[run]
    except IndexError:
        raise ConfigurationError(
            f"{path}: the trace holds {len(runs)} run(s); there is no run {run}"
        ) from None
    return replay_run(chosen)

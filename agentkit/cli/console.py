"""Live console output of a run: rich on a terminal, plain lines otherwise.

Both renderers are :class:`~agentkit.tracing.RunObserver` s fed the run's typed events. The rich one
(the ``cli`` extra, imported lazily) streams the model's text as it arrives, shows tool calls with their
arguments and shortened results, timing and tokens per step, a spinner while waiting for the model
(including a model that is still loading) or a tool, with the progress a running tool reports, and a
summary. The plain one writes one line per
happening, without colour, for logs and pipes.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

from pydantic_core import to_json

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
from agentkit.messages import ToolCall, Usage
from agentkit.tracing.observe import RunStart, model_label
from agentkit.tracing.redact import Redactor

RESULT_CHARS = 200
ARGUMENT_CHARS = 160
PROGRESS_EVERY_S = 0.5
"""The plain renderer prints a running tool's progress at most this often (and always its last step)."""


def shorten(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, with a marker when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def format_call(call: ToolCall) -> str:
    arguments = call.raw_arguments if call.arguments_error else json.dumps(call.arguments, ensure_ascii=False)
    return f"{call.name}({shorten(arguments or '', ARGUMENT_CHARS)})"


def format_progress(event: ToolProgress) -> str:
    """``3/5 (60%) message``: how far a running tool got, in its own units."""
    if event.total:
        amount = f"{event.progress:g}/{event.total:g}"
        if event.total > 0:
            amount += f" ({max(0.0, min(1.0, event.progress / event.total)):.0%})"
    else:
        amount = f"{event.progress:g}"
    return f"{amount} {shorten(event.message, ARGUMENT_CHARS)}" if event.message else amount


def format_usage(usage: Usage) -> str:
    return f"{usage.input_tokens} in / {usage.output_tokens} out tokens"


def child_line(event: AgentEvent) -> str | None:
    """One line for an event of a child agent (shown indented under the parent's tool call)."""
    if isinstance(event, RunStarted):
        return f"started on {event.model or 'its model'}"
    if isinstance(event, ModelResponded) and event.message.content:
        return f"text: {shorten(event.message.content, RESULT_CHARS)}"
    if isinstance(event, ToolCallStarted):
        return f"call {format_call(event.call)}"
    if isinstance(event, ToolCallFinished):
        kind = "error" if event.result.is_error else "result"
        return f"{kind} {event.call.name}: {shorten(event.result.content, RESULT_CHARS)}"
    if isinstance(event, HandedOff):
        return f"handed off to {event.target}"
    if isinstance(event, FinalOutput):
        result = event.result
        return f"done: {result.stop_reason}, {result.steps} steps, {format_usage(result.usage)}"
    if isinstance(event, RunFailed):
        return f"failed: {type(event.error).__name__}"
    return None


def child_prefix(event: AgentEvent, root_depth: int) -> str | None:
    """The indentation and name of a child agent's event, or ``None`` for the run's own events."""
    depth = event.path.count("/") - root_depth
    if depth <= 0:
        return None
    return "  " * depth + f"[{event.path.rsplit('/', 1)[-1]}] "


class PlainRenderer:
    """One plain line per happening, for pipes and logs (no colour, no cursor movement)."""

    def __init__(self, stream: IO[str] | None = None, *, redactor: Redactor | None = None) -> None:
        self.stream = stream or sys.stderr
        self.redactor = redactor or Redactor()
        self._started = 0.0
        self._root_depth = 0
        self._progress_shown: dict[str, float] = {}

    def _line(self, text: str) -> None:
        self.stream.write(self.redactor.text(text) + "\n")
        self.stream.flush()

    def model_loading(self, name: str) -> None:
        self._line(f"[run] loading model {name}")

    def model_loaded(self, name: str, seconds: float) -> None:
        self._line(f"[run] model {name} loaded in {seconds:.2f}s")

    def run_started(self, start: RunStart) -> None:
        self._started = time.monotonic()
        backend = start.agent.backend
        tools = ", ".join(start.tools) or "none"
        self._line(f"[run] model {model_label(backend)}; tools: {tools}")

    def on_event(self, event: AgentEvent) -> None:
        prefix = child_prefix(event, self._root_depth)
        if prefix is not None:
            line = child_line(event)
            if line is not None:
                self._line(prefix + line)
            return
        if isinstance(event, HandedOff):
            self._line(f"[step {event.step}] handoff {event.source} -> {event.target}")
        elif isinstance(event, ModelResponded):
            if event.message.tool_calls and event.message.content:
                self._line(f"[step {event.step}] text: {shorten(event.message.content, RESULT_CHARS)}")
            self._line(f"[step {event.step}] model {event.duration_s:.2f}s, {format_usage(event.usage)}")
        elif isinstance(event, ToolCallStarted):
            self._line(f"[step {event.step}] call {format_call(event.call)}")
        elif isinstance(event, ToolProgress):
            now = time.monotonic()
            last = self._progress_shown.get(event.call.id)
            complete = event.total is not None and event.progress >= event.total
            if last is None or complete or now - last >= PROGRESS_EVERY_S:
                self._progress_shown[event.call.id] = now
                self._line(f"[step {event.step}] progress {event.call.name}: {format_progress(event)}")
        elif isinstance(event, ToolCallFinished):
            self._progress_shown.pop(event.call.id, None)
            kind = "error" if event.result.is_error else "result"
            content = shorten(event.result.content, RESULT_CHARS)
            self._line(f"[step {event.step}] {kind} {event.call.name} ({event.duration_s:.2f}s): {content}")
        elif isinstance(event, OutputRejected):
            self._line(f"[step {event.step}] answer rejected: {shorten(event.error, RESULT_CHARS)}")
        elif isinstance(event, FinalOutput):
            result = event.result
            self._line(
                f"[done] {result.stop_reason}: {result.steps} steps, {format_usage(result.usage)}, "
                f"{time.monotonic() - self._started:.2f}s"
            )
        elif isinstance(event, RunFailed):
            steps = f"after {event.result.steps} steps" if event.result else ""
            self._line(f"[failed] {type(event.error).__name__} {steps}".rstrip())

    def run_ended(self) -> None:
        return None


class RichRenderer:
    """Live output on a terminal (needs the ``rich`` package)."""

    def __init__(self, console: Any = None, *, redactor: Redactor | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(highlight=False)
        self.redactor = redactor or Redactor()
        self._status: Any = None
        self._streamed = False
        self._running: dict[str, str] = {}
        self._progress: dict[str, str] = {}
        self.status_text: str | None = None
        """What the spinner says now (None when it is not shown)."""
        self._started = 0.0
        self._root_depth = 0
        self.answer_shown = False

    # -- spinner -------------------------------------------------------------------------------
    def _spin(self, text: str) -> None:
        self.status_text = text
        if self._status is None:
            self._status = self.console.status(text, spinner="dots")
            self._status.start()
        else:
            self._status.update(text)

    def _stop_spinner(self) -> None:
        self.status_text = None
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _print(self, *parts: Any, **options: Any) -> None:
        self.console.print(*parts, **options)

    def model_loading(self, name: str) -> None:
        self._spin(f"loading model {name}…")

    def model_loaded(self, name: str, seconds: float) -> None:
        from rich.text import Text

        self._stop_spinner()
        self._print(Text(f"model {name} loaded in {seconds:.2f}s", style="dim"))

    # -- observer ------------------------------------------------------------------------------
    def run_started(self, start: RunStart) -> None:
        from rich.text import Text

        self._started = time.monotonic()
        backend = start.agent.backend
        model = model_label(backend)
        tools = ", ".join(start.tools) or "none"
        self._print(Text(f"model {model} · tools: {tools}", style="dim"))

    def on_event(self, event: AgentEvent) -> None:
        from rich.text import Text

        prefix = child_prefix(event, self._root_depth)
        if prefix is not None:  # a child agent's work, indented under the call that started it
            summary = child_line(event)
            if summary is not None:
                self._print(Text(self.redactor.text(prefix + summary), style="dim"))
            return
        if isinstance(event, HandedOff):
            self._print(Text(f"⇢ handed off from {event.source} to {event.target}", style="bold magenta"))
        elif isinstance(event, StepStarted):
            self._streamed = False
            self._print(Text(f"── step {event.step}", style="bold blue"))
            self._spin("waiting for the model…")
        elif isinstance(event, ModelTextDelta):
            self._stop_spinner()
            self.console.print(Text(self.redactor.text(event.text)), end="", soft_wrap=True)
            self._streamed = True
        elif isinstance(event, ModelResponded):
            self._stop_spinner()
            if self._streamed:
                self.console.print()
            elif event.message.content:
                self._print(Text(self.redactor.text(event.message.content)))
            self.answer_shown = bool(event.message.content) and not event.message.tool_calls
            self._print(Text(f"   {event.duration_s:.2f}s · {format_usage(event.usage)}", style="dim"))
        elif isinstance(event, ToolCallStarted):
            self._running[event.call.id] = event.call.name
            line = Text("→ ", style="cyan")
            line.append(self.redactor.text(format_call(event.call)), style="cyan")
            self._print(line)
            self._spin(self._running_text())
        elif isinstance(event, ToolProgress):
            if event.call.id in self._running:
                self._progress[event.call.id] = format_progress(event)
                self._spin(self._running_text())
        elif isinstance(event, ToolCallFinished):
            self._running.pop(event.call.id, None)
            self._progress.pop(event.call.id, None)
            style = "red" if event.result.is_error else "green"
            line = Text("← ", style=style)
            line.append(f"{event.call.name} ", style=f"bold {style}")
            room = max(40, min(RESULT_CHARS, self.console.width - len(event.call.name) - 14))
            line.append(self.redactor.text(shorten(event.result.content, room)))
            line.append(f"  {event.duration_s:.2f}s", style="dim")
            self._print(line)
            if self._running:
                self._spin(self._running_text())
            else:
                self._stop_spinner()
        elif isinstance(event, OutputRejected):
            self._print(Text(f"answer rejected: {shorten(event.error, RESULT_CHARS)}", style="yellow"))
        elif isinstance(event, FinalOutput):
            self._stop_spinner()
            result = event.result
            if event.output is not None and not isinstance(event.output, str):
                self._print_json(event.output)
                self.answer_shown = True
            style = "bold green" if result.stop_reason == "final_answer" else "bold yellow"
            self._print(
                Text(
                    f"✓ {result.stop_reason} · {result.steps} steps · {format_usage(result.usage)} · "
                    f"{time.monotonic() - self._started:.2f}s",
                    style=style,
                )
            )
        elif isinstance(event, RunFailed):
            self._stop_spinner()
            steps = f" after {event.result.steps} steps" if event.result else ""
            self._print(Text(f"✗ {type(event.error).__name__}{steps}", style="bold red"))

    def _print_json(self, value: Any) -> None:
        from rich.json import JSON

        self._print(JSON(self.redactor.text(to_json(value, fallback=str).decode())))

    def _running_text(self) -> str:
        names = list(self._running.values())
        if len(names) != 1:
            return f"running {len(names)} tools…"
        progress = self._progress.get(next(iter(self._running)))
        return f"running {names[0]}… {progress}" if progress else f"running {names[0]}…"

    def run_ended(self) -> None:
        self._stop_spinner()


def rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True

"""OpenTelemetry spans for agent runs, following the GenAI semantic conventions.

One ``invoke_agent`` span per run; inside it one ``chat`` span per model call and one ``execute_tool``
span per tool call, with ``gen_ai.*`` attributes: operation, provider, request and response model,
token usage, tool name and call id. An agent used as a tool gets its own ``invoke_agent`` span inside
the ``execute_tool`` span of the call that started it, with its chats and tools inside that; a handoff
is an event on the run's span, and the chats after it name the new agent's model. Message content is
not recorded unless ``capture_content=True`` (the conventions make it opt-in), and what is recorded
is redacted.

Needs the ``otel`` extra (``pip install 'agentkit[otel]'``); the spans go to whatever tracer provider
the application configured (or the one passed in).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentkit import __version__
from agentkit.errors import ConfigurationError
from agentkit.events import (
    AgentEvent,
    FinalOutput,
    HandedOff,
    ModelResponded,
    OutputRejected,
    RunFailed,
    RunStarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
)
from agentkit.tracing.observe import RunStart, model_label, provider_label
from agentkit.tracing.redact import Redactor

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from agentkit.result import RunResult

INSTRUMENTATION_NAME = "agentkit"


def _otel() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ConfigurationError(
            "OpenTelemetry tracing needs the 'otel' extra: pip install 'agentkit[otel]'"
        ) from exc
    return trace


@dataclass
class _Agent:
    """The open spans of one agent of the run (the run's own, or a child's)."""

    span: Span
    model: str
    provider: str
    chat: Span | None = None


class OTelTracer:
    """A :class:`~agentkit.tracing.RunObserver` that turns run events into GenAI spans."""

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        *,
        agent_name: str = "agentkit",
        capture_content: bool = False,
        redactor: Redactor | None = None,
    ) -> None:
        self._trace = _otel()
        self._tracer: Tracer = self._trace.get_tracer(
            INSTRUMENTATION_NAME, __version__, tracer_provider=tracer_provider
        )
        self.agent_name = agent_name
        self.capture_content = capture_content
        self.redactor = redactor or Redactor()
        self._agents: dict[str, _Agent] = {}
        """Open agent spans by path; the run's own is the first."""
        self._root = ""
        self._tool_spans: dict[str, Span] = {}

    def _start(self, name: str, parent: Span | None, attributes: dict[str, Any]) -> Span:
        context = self._trace.set_span_in_context(parent) if parent is not None else None
        options: dict[str, Any] = {"context": context, "attributes": attributes}
        if attributes.get("gen_ai.operation.name") == "chat":
            options["kind"] = self._trace.SpanKind.CLIENT
        return self._tracer.start_span(name, **options)

    def _agent_span(self, name: str, parent: Span | None, model: str, provider: str) -> _Agent:
        span = self._start(
            f"invoke_agent {name}",
            parent,
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": name,
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model,
            },
        )
        return _Agent(span, model, provider)

    def run_started(self, start: RunStart) -> None:
        backend = start.agent.backend
        self._root = start.agent.name
        self._agents = {
            self._root: self._agent_span(self.agent_name, None, model_label(backend), provider_label(backend))
        }

    def on_event(self, event: AgentEvent) -> None:
        if isinstance(event, HandedOff):  # the same run goes on under another agent's path and model
            moved = self._agents.pop(event.source, None)
            if moved is not None:
                moved.span.add_event("agentkit.handoff", {"source": event.source, "target": event.target})
                moved.model, moved.provider = event.model, event.provider
                self._agents[event.target] = moved
                if event.source == self._root:
                    self._root = event.target
            return
        agent = self._agents.get(event.path) or self._agents.get(self._root)
        if agent is None:
            return
        if isinstance(event, RunStarted):  # a child agent, inside the tool span of the call that started it
            name = event.path.rsplit("/", 1)[-1]
            parent = self._tool_spans.get(event.parent_call_id, agent.span)
            self._agents[event.path] = self._agent_span(name, parent, event.model, event.provider)
        elif isinstance(event, StepStarted):
            agent.chat = self._start(
                f"chat {agent.model}",
                agent.span,
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": agent.provider,
                    "gen_ai.request.model": agent.model,
                    "agentkit.step": event.step,
                },
            )
        elif isinstance(event, ModelResponded) and agent.chat is not None:
            self._model_responded(agent, event)
        elif isinstance(event, ToolCallStarted):
            self._tool_started(agent, event)
        elif isinstance(event, ToolProgress):
            self._tool_progress(event)
        elif isinstance(event, ToolCallFinished):
            self._tool_finished(event)
        elif isinstance(event, OutputRejected):
            agent.span.add_event("agentkit.output_rejected", {"error": self.redactor.text(event.error)})
        elif isinstance(event, FinalOutput):
            self._finished(event.path, agent, event.result)
        elif isinstance(event, RunFailed):
            agent.span.set_attribute("error.type", type(event.error).__name__)
            agent.span.set_status(self._trace.StatusCode.ERROR, self.redactor.text(str(event.error)))
            self._finished(event.path, agent, event.result)

    def _model_responded(self, agent: _Agent, event: ModelResponded) -> None:
        span = agent.chat
        assert span is not None
        span.set_attribute("gen_ai.usage.input_tokens", event.usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", event.usage.output_tokens)
        span.set_attribute(
            "gen_ai.response.finish_reasons", ["tool_calls" if event.message.tool_calls else "stop"]
        )
        if self.capture_content and event.message.content:
            span.set_attribute("gen_ai.output.messages", self.redactor.text(event.message.content))
        span.end()
        agent.chat = None

    def _tool_started(self, agent: _Agent, event: ToolCallStarted) -> None:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": event.call.name,
            "gen_ai.tool.call.id": event.call.id,
            "gen_ai.tool.type": "function",
        }
        if self.capture_content:
            attributes["gen_ai.tool.call.arguments"] = self.redactor.text(json.dumps(event.call.arguments))
        self._tool_spans[event.call.id] = self._start(
            f"execute_tool {event.call.name}", agent.span, attributes
        )

    def _tool_progress(self, event: ToolProgress) -> None:
        span = self._tool_spans.get(event.call.id)
        if span is not None:
            attributes: dict[str, Any] = {"agentkit.progress": event.progress}
            if event.total is not None:
                attributes["agentkit.progress.total"] = event.total
            if event.message is not None and self.capture_content:
                attributes["agentkit.progress.message"] = self.redactor.text(event.message)
            span.add_event("agentkit.tool_progress", attributes)

    def _tool_finished(self, event: ToolCallFinished) -> None:
        span = self._tool_spans.pop(event.call.id, None)
        if span is None:
            return
        if self.capture_content:
            span.set_attribute("gen_ai.tool.call.result", self.redactor.text(event.result.content))
        if event.result.is_error:
            error = event.result.error
            span.set_attribute("error.type", type(error).__name__ if error else "tool_error")
            span.set_status(self._trace.StatusCode.ERROR, self.redactor.text(event.result.content[:200]))
        span.end()

    def _finished(self, path: str, agent: _Agent, result: RunResult[Any] | None) -> None:
        if result is not None:
            agent.span.set_attribute("gen_ai.usage.input_tokens", result.usage.input_tokens)
            agent.span.set_attribute("gen_ai.usage.output_tokens", result.usage.output_tokens)
            agent.span.set_attribute("agentkit.steps", result.steps)
            agent.span.set_attribute("agentkit.stop_reason", result.stop_reason)
        if path != self._root:  # a child's span ends with it; the run's own ends in run_ended
            if agent.chat is not None:
                agent.chat.end()
            agent.span.end()
            self._agents.pop(path, None)

    def run_ended(self) -> None:
        """End every span still open (a run that stopped early leaves none dangling)."""
        for span in self._tool_spans.values():
            span.end()
        self._tool_spans.clear()
        for path in [p for p in self._agents if p != self._root] + [self._root]:
            agent = self._agents.pop(path, None)
            if agent is not None:
                if agent.chat is not None:
                    agent.chat.end()
                agent.span.end()

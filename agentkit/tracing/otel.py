"""OpenTelemetry spans for agent runs, following the GenAI semantic conventions.

One ``invoke_agent`` span per run; inside it one ``chat`` span per model call and one ``execute_tool``
span per tool call, with ``gen_ai.*`` attributes: operation, provider, request and response model,
token usage, tool name and call id. Message content is not recorded unless ``capture_content=True``
(the conventions make it opt-in), and what is recorded is redacted.

Needs the ``otel`` extra (``pip install 'agentkit[otel]'``); the spans go to whatever tracer provider
the application configured (or the one passed in).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agentkit import __version__
from agentkit.errors import ConfigurationError
from agentkit.events import (
    AgentEvent,
    FinalOutput,
    ModelResponded,
    OutputRejected,
    RunFailed,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
)
from agentkit.tracing.observe import RunStart, model_label, provider_label
from agentkit.tracing.redact import Redactor

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

INSTRUMENTATION_NAME = "agentkit"


def _otel() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ConfigurationError(
            "OpenTelemetry tracing needs the 'otel' extra: pip install 'agentkit[otel]'"
        ) from exc
    return trace


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
        self._agent_span: Span | None = None
        self._chat_span: Span | None = None
        self._tool_spans: dict[str, Span] = {}
        self._model = ""
        self._provider = ""

    def _child(self, name: str, attributes: dict[str, Any]) -> Span:
        context = self._trace.set_span_in_context(self._agent_span) if self._agent_span else None
        kind = self._trace.SpanKind.CLIENT if attributes.get("gen_ai.operation.name") == "chat" else None
        options: dict[str, Any] = {"context": context, "attributes": attributes}
        if kind is not None:
            options["kind"] = kind
        return self._tracer.start_span(name, **options)

    def run_started(self, start: RunStart) -> None:
        backend = start.agent.backend
        self._model = model_label(backend)
        self._provider = provider_label(backend)
        self._agent_span = self._tracer.start_span(
            f"invoke_agent {self.agent_name}",
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": self.agent_name,
                "gen_ai.provider.name": self._provider,
                "gen_ai.request.model": self._model,
            },
        )

    def on_event(self, event: AgentEvent) -> None:
        if isinstance(event, StepStarted):
            self._chat_span = self._child(
                f"chat {self._model}",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": self._provider,
                    "gen_ai.request.model": self._model,
                    "agentkit.step": event.step,
                },
            )
        elif isinstance(event, ModelResponded) and self._chat_span is not None:
            span = self._chat_span
            span.set_attribute("gen_ai.usage.input_tokens", event.usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", event.usage.output_tokens)
            span.set_attribute(
                "gen_ai.response.finish_reasons", ["tool_calls" if event.message.tool_calls else "stop"]
            )
            if self.capture_content and event.message.content:
                span.set_attribute("gen_ai.output.messages", self.redactor.text(event.message.content))
            span.end()
            self._chat_span = None
        elif isinstance(event, ToolCallStarted):
            attributes: dict[str, Any] = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": event.call.name,
                "gen_ai.tool.call.id": event.call.id,
                "gen_ai.tool.type": "function",
            }
            if self.capture_content:
                attributes["gen_ai.tool.call.arguments"] = self.redactor.text(
                    json.dumps(event.call.arguments)
                )
            self._tool_spans[event.call.id] = self._child(f"execute_tool {event.call.name}", attributes)
        elif isinstance(event, ToolProgress):
            progress_span = self._tool_spans.get(event.call.id)
            if progress_span is not None:
                attributes = {"agentkit.progress": event.progress}
                if event.total is not None:
                    attributes["agentkit.progress.total"] = event.total
                if event.message is not None and self.capture_content:
                    attributes["agentkit.progress.message"] = self.redactor.text(event.message)
                progress_span.add_event("agentkit.tool_progress", attributes)
        elif isinstance(event, ToolCallFinished):
            tool_span = self._tool_spans.pop(event.call.id, None)
            if tool_span is not None:
                if self.capture_content:
                    tool_span.set_attribute(
                        "gen_ai.tool.call.result", self.redactor.text(event.result.content)
                    )
                if event.result.is_error:
                    error = event.result.error
                    tool_span.set_attribute("error.type", type(error).__name__ if error else "tool_error")
                    tool_span.set_status(
                        self._trace.StatusCode.ERROR, self.redactor.text(event.result.content[:200])
                    )
                tool_span.end()
        elif isinstance(event, OutputRejected) and self._agent_span is not None:
            self._agent_span.add_event("agentkit.output_rejected", {"error": self.redactor.text(event.error)})
        elif isinstance(event, FinalOutput) and self._agent_span is not None:
            usage = event.result.usage
            self._agent_span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            self._agent_span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            self._agent_span.set_attribute("agentkit.steps", event.result.steps)
            self._agent_span.set_attribute("agentkit.stop_reason", event.result.stop_reason)
        elif isinstance(event, RunFailed) and self._agent_span is not None:
            self._agent_span.set_attribute("error.type", type(event.error).__name__)
            self._agent_span.set_status(self._trace.StatusCode.ERROR, self.redactor.text(str(event.error)))
            if event.result is not None:
                self._agent_span.set_attribute("gen_ai.usage.input_tokens", event.result.usage.input_tokens)
                self._agent_span.set_attribute("gen_ai.usage.output_tokens", event.result.usage.output_tokens)

    def run_ended(self) -> None:
        """End every span still open (a run that stopped early leaves none dangling)."""
        for span in self._tool_spans.values():
            span.end()
        self._tool_spans.clear()
        if self._chat_span is not None:
            self._chat_span.end()
            self._chat_span = None
        if self._agent_span is not None:
            self._agent_span.end()
            self._agent_span = None

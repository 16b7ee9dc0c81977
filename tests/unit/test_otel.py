"""OpenTelemetry spans of a run follow the GenAI semantic conventions (checked in memory)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agentkit import Agent, MaxStepsExceeded, ModelResponse, RunContext, tool
from agentkit.messages import AssistantMessage, Usage
from agentkit.testing import ScriptedBackend, call
from agentkit.tracing import arun_observed
from agentkit.tracing.otel import OTelTracer

SECRET = "sk-otel-9a8b7c6d5e4f3a2b1c0d"


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: what to look up
    """
    if key == "missing":
        raise KeyError(key)
    return f"value of {key}"


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _reply(message: AssistantMessage, tokens_in: int, tokens_out: int) -> ModelResponse:
    return ModelResponse(
        message=message, usage=Usage(input_tokens=tokens_in, output_tokens=tokens_out, requests=1)
    )


async def test_agent_chat_and_tool_spans_with_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_TOKEN", SECRET)
    provider, exporter = _provider()
    backend = ScriptedBackend(
        [
            _reply(
                AssistantMessage(tool_calls=[call("lookup", key="a"), call("lookup", key="missing")]), 20, 7
            ),
            _reply(AssistantMessage(content=f"done {SECRET}"), 30, 3),
        ]
    )
    agent = Agent(backend, tools=[lookup])
    tracer = OTelTracer(provider, agent_name="helper", capture_content=True)
    await arun_observed(agent, "go", [tracer])

    spans = {s.name: s for s in exporter.get_finished_spans()}
    names = [s.name for s in exporter.get_finished_spans()]
    assert names.count("chat scripted") == 2 and names.count("execute_tool lookup") == 2
    root = spans["invoke_agent helper"]
    assert root.parent is None
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.usage.input_tokens"] == 50
    assert root.attributes["gen_ai.usage.output_tokens"] == 10
    children = [s for s in exporter.get_finished_spans() if s is not root]
    assert all(s.parent is not None and s.parent.span_id == root.context.span_id for s in children)
    chats = [s for s in children if s.name.startswith("chat")]
    assert [s.attributes["gen_ai.usage.input_tokens"] for s in chats if s.attributes] == [20, 30]
    assert all(s.attributes and s.attributes["gen_ai.operation.name"] == "chat" for s in chats)
    tools = [s for s in children if s.name.startswith("execute_tool")]
    statuses = sorted(s.status.status_code.name for s in tools)
    assert statuses == ["ERROR", "UNSET"]
    for span in tools:
        assert span.attributes and span.attributes["gen_ai.tool.name"] == "lookup"
        assert str(span.attributes["gen_ai.tool.call.id"]).startswith("call_")
    everything = repr([dict(s.attributes or {}) for s in exporter.get_finished_spans()])
    assert SECRET not in everything


async def test_failed_run_marks_the_agent_span_and_closes_every_span() -> None:
    provider, exporter = _provider()
    backend = ScriptedBackend([call("lookup", key="a")])
    agent = Agent(backend, tools=[lookup], max_steps=1)
    with pytest.raises(MaxStepsExceeded):
        await arun_observed(agent, "go", [OTelTracer(provider)])
    spans = exporter.get_finished_spans()
    root = next(s for s in spans if s.name.startswith("invoke_agent"))
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes and root.attributes["error.type"] == "MaxStepsExceeded"
    assert len(spans) == 3  # agent, chat, tool: nothing left open


def test_model_and_provider_labels() -> None:
    from agentkit.backends import BaseBackend
    from agentkit.backends.openai import OpenAIBackend
    from agentkit.tracing.observe import model_label, provider_label

    remote = OpenAIBackend("gpt-4o-mini", base_url="http://127.0.0.1:9/v1")

    class Local(BaseBackend):  # the defaults: the name, and its prefix as the provider
        @property
        def name(self) -> str:
            return "transformers:SmolLM2-135M"

    assert (model_label(remote), provider_label(remote)) == ("gpt-4o-mini", "openai")
    assert (model_label(Local()), provider_label(Local())) == ("transformers:SmolLM2-135M", "transformers")


async def test_tool_progress_becomes_events_on_the_tool_span() -> None:
    @tool
    async def download(ctx: RunContext[None], parts: int) -> str:
        """Reports each part."""
        for part in range(1, parts + 1):
            ctx.report_progress(part, parts, f"part {part} of {SECRET}")
        return "done"

    provider, exporter = _provider()
    agent = Agent(ScriptedBackend([call("download", parts=2), "ok"]), tools=[download])
    await arun_observed(agent, "go", [OTelTracer(provider, capture_content=True)])
    span = next(s for s in exporter.get_finished_spans() if s.name == "execute_tool download")
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    assert [name for name, _ in events] == ["agentkit.tool_progress"] * 2
    assert events[1][1]["agentkit.progress"] == 2 and events[1][1]["agentkit.progress.total"] == 2
    assert SECRET not in str(events) and "part 2 of" in str(events[1][1]["agentkit.progress.message"])

"""Watching a multi-agent run: JSON-lines traces link a child run to the parent's call and still replay
the parent's conversation; OpenTelemetry nests a child's spans under the parent's execute_tool span;
the console shows a child's work indented."""

from __future__ import annotations

import io
import json
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import Agent, tool
from agentkit.cli.console import PlainRenderer
from agentkit.testing import ScriptedBackend, call
from agentkit.tracing import JsonlTrace, arun_observed, replay_messages
from agentkit.tracing.otel import OTelTracer


@tool(inline=True)
def lookup(topic: str) -> str:
    """Look a topic up."""
    return f"notes on {topic}"


def team() -> Agent[str, None]:
    researcher = Agent(
        ScriptedBackend([call("lookup", topic="tides"), "Tides follow the moon."]),
        name="researcher",
        description="Finds facts.",
        tools=[lookup],
    )
    return Agent(
        ScriptedBackend([call("researcher", task="Why are there tides?"), "Because of the moon."]),
        name="triage",
        tools=[researcher.as_tool()],
    )


async def test_a_trace_links_the_child_run_to_the_parents_call_and_replays_the_parent(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    with JsonlTrace(path) as trace:
        result = await arun_observed(team(), "tides?", [trace])
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0]["type"] == "run_started" and records[0]["path"] == "triage"
    (child,) = [r for r in records if r["type"] == "agent_started"]
    parent_call = next(r for r in records if r["type"] == "tool_call_started" and r.get("path") == "triage")
    assert child["path"] == "triage/researcher" and child["parent_call_id"] == parent_call["call"]["id"]
    assert [r["type"] for r in records if r.get("path") == "triage/researcher"][-1] == "agent_finished"
    assert records[-1]["type"] == "run_finished"
    assert replay_messages(path) == result.messages  # the child's messages are its own, not the parent's


async def test_a_childs_spans_nest_under_the_parents_execute_tool_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    await arun_observed(team(), "tides?", [OTelTracer(provider)])
    spans = {span.name: span for span in exporter.get_finished_spans()}
    parent_tool = spans["execute_tool researcher"]
    child_agent = spans["invoke_agent researcher"]
    assert child_agent.parent is not None and child_agent.parent.span_id == parent_tool.context.span_id
    child_tool = spans["execute_tool lookup"]
    assert child_tool.parent is not None and child_tool.parent.span_id == child_agent.context.span_id
    root = spans["invoke_agent agentkit"]
    assert parent_tool.parent is not None and parent_tool.parent.span_id == root.context.span_id
    assert child_agent.attributes["agentkit.stop_reason"] == "final_answer"


async def test_the_console_shows_a_childs_work_indented_under_the_call() -> None:
    out = io.StringIO()
    await arun_observed(team(), "tides?", [PlainRenderer(out)])
    lines = out.getvalue().splitlines()
    call_line = next(i for i, line in enumerate(lines) if line.startswith("[step 1] call researcher("))
    child = [line for line in lines if line.startswith("  [researcher] ")]
    assert child[0] == "  [researcher] started on scripted"
    assert any('call lookup({"topic": "tides"})' in line for line in child)
    assert child[-1].startswith("  [researcher] done: final_answer, 2 steps")
    assert lines.index(child[0]) > call_line

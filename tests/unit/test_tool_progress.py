"""Progress reports of running tools: ``RunContext.report_progress`` becomes ``ToolProgress`` events in
``run_stream`` (from async tools, sync tools on worker threads, and schema tools such as MCP's), which
the console and the traces show; nothing changes for runs nobody streams."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from agentkit import (
    Agent,
    AgentEvent,
    RunContext,
    Tool,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
    tool,
)
from agentkit.cli.console import PlainRenderer, RichRenderer
from agentkit.errors import ToolDefinitionError
from agentkit.testing import ScriptedBackend, call
from agentkit.tracing import JsonlTrace, arun_observed, replay_messages


@tool
async def download(ctx: RunContext[None], parts: int) -> str:
    """Fetch a file in parts, reporting each."""
    for part in range(1, parts + 1):
        await asyncio.sleep(0.01)
        ctx.report_progress(part, parts, f"part {part}")
    return f"{parts} parts"


@tool
def crunch(ctx: RunContext[None], rounds: int) -> str:
    """A sync tool: runs on a worker thread and reports from there."""
    for done in range(1, rounds + 1):
        time.sleep(0.01)
        ctx.report_progress(done)  # no total: unknown
    return "crunched"


@tool
def plain(text: str) -> str:
    """Takes no context, so it cannot report."""
    return text


async def stream(agent: Agent[Any, Any], prompt: str = "go") -> list[AgentEvent]:
    return [event async for event in agent.run_stream(prompt)]


def progress_of(events: list[AgentEvent], name: str) -> list[tuple[float, float | None, str | None]]:
    return [
        (e.progress, e.total, e.message)
        for e in events
        if isinstance(e, ToolProgress) and e.call.name == name
    ]


async def test_an_async_tool_reports_progress_between_start_and_finish() -> None:
    agent = Agent(ScriptedBackend([call("download", parts=3), "done"]), tools=[download])
    events = await stream(agent)
    kinds = [
        type(e).__name__ for e in events if isinstance(e, ToolCallStarted | ToolProgress | ToolCallFinished)
    ]
    assert kinds == ["ToolCallStarted", "ToolProgress", "ToolProgress", "ToolProgress", "ToolCallFinished"]
    assert progress_of(events, "download") == [(1, 3, "part 1"), (2, 3, "part 2"), (3, 3, "part 3")]
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    assert all(e.call is started.call and e.step == 1 for e in events if isinstance(e, ToolProgress))


async def test_a_sync_tool_reports_from_its_worker_thread() -> None:
    agent = Agent(ScriptedBackend([call("crunch", rounds=4), "done"]), tools=[crunch])
    events = await stream(agent)
    assert progress_of(events, "crunch") == [
        (1, None, None),
        (2, None, None),
        (3, None, None),
        (4, None, None),
    ]
    finished = next(i for i, e in enumerate(events) if isinstance(e, ToolCallFinished))
    assert all(i < finished for i, e in enumerate(events) if isinstance(e, ToolProgress))


async def test_parallel_calls_report_each_under_its_own_call() -> None:
    backend = ScriptedBackend(
        [[call("download", parts=2), call("crunch", rounds=2), call("plain", text="x")], "ok"]
    )
    events = await stream(Agent(backend, tools=[download, crunch, plain]))
    assert progress_of(events, "download") == [(1, 2, "part 1"), (2, 2, "part 2")]
    assert progress_of(events, "crunch") == [(1, None, None), (2, None, None)]
    for event in events:
        if isinstance(event, ToolProgress):
            later = events[events.index(event) :]
            assert any(isinstance(e, ToolCallFinished) and e.call is event.call for e in later)


async def test_runs_nobody_streams_give_tools_a_context_that_ignores_reports() -> None:
    seen: list[RunContext[None]] = []

    @tool
    def spy(ctx: RunContext[None]) -> str:
        """Keeps its context."""
        seen.append(ctx)
        ctx.report_progress(1, 2, "ignored")
        return "ok"

    result = await Agent(ScriptedBackend([call("spy"), "done"]), tools=[spy]).arun("go")
    assert result.output == "done"
    assert seen[0].emit is None
    RunContext(deps=None).report_progress(0.5)  # outside a run: a no-op too


async def test_a_report_after_the_call_ended_is_dropped() -> None:
    later: list[RunContext[None]] = []

    @tool
    async def keeps_context(ctx: RunContext[None]) -> str:
        """Returns at once, but keeps its context."""
        later.append(ctx)
        return "ok"

    def script(request: Any) -> object:
        if len(request.messages) == 2:
            return call("keeps_context")
        if len(request.messages) == 4:
            later[0].report_progress(99)  # the first call is long finished
            return call("download", parts=1)
        return "done"

    events = await stream(Agent(ScriptedBackend(script), tools=[keeps_context, download]))
    assert progress_of(events, "keeps_context") == []
    assert progress_of(events, "download") == [(1, 1, "part 1")]


def test_from_schema_can_inject_the_run_context() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    async def run(ctx: RunContext[None], n: int) -> str:
        ctx.report_progress(n, 10)
        return str(n)

    made = Tool.from_schema(
        "counted", "Counts.", schema, lambda **kw: run(kw.pop("ctx"), **kw), context_param="ctx"
    )
    assert made.takes_context and "ctx" not in made.spec().parameters["properties"]
    with pytest.raises(ToolDefinitionError, match="also a parameter"):
        Tool.from_schema("clash", "Clash.", schema, lambda **kw: None, context_param="n")


async def test_schema_tool_progress_reaches_the_stream() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    async def run(**arguments: Any) -> str:
        ctx: RunContext[None] = arguments.pop("ctx")
        ctx.report_progress(arguments["n"], 10, "halfway")
        return "ok"

    counted = Tool.from_schema("counted", "Counts.", schema, run, context_param="ctx")
    events = await stream(Agent(ScriptedBackend([call("counted", n=5), "done"]), tools=[counted]))
    assert progress_of(events, "counted") == [(5, 10, "halfway")]


async def test_console_and_traces_show_progress(tmp_path: Path) -> None:
    from rich.console import Console

    class Watching(RichRenderer):
        shown: list[str]

        def on_event(self, event: AgentEvent) -> None:
            super().on_event(event)
            if isinstance(event, ToolProgress) and self.status_text:
                self.shown.append(self.status_text)

    plain = io.StringIO()
    rich_renderer = Watching(Console(file=io.StringIO(), force_terminal=True, width=100))
    rich_renderer.shown = []
    path = tmp_path / "run.jsonl"
    agent = Agent(ScriptedBackend([call("download", parts=2), "done"]), tools=[download])
    with JsonlTrace(path) as trace:
        result = await arun_observed(agent, "go", [PlainRenderer(plain), rich_renderer, trace])
    lines = plain.getvalue().splitlines()
    assert "[step 1] progress download: 1/2 (50%) part 1" in lines
    assert "[step 1] progress download: 2/2 (100%) part 2" in lines
    assert rich_renderer.shown == [
        "running download… 1/2 (50%) part 1",
        "running download… 2/2 (100%) part 2",
    ]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    progress = [r for r in records if r["type"] == "tool_progress"]
    assert [(r["name"], r["progress"], r["total"], r["message"]) for r in progress] == [
        ("download", 1, 2, "part 1"),
        ("download", 2, 2, "part 2"),
    ]
    assert replay_messages(path) == result.messages


def test_the_plain_console_keeps_a_flood_of_reports_readable() -> None:
    out = io.StringIO()
    renderer = PlainRenderer(out)
    flood = call("download", parts=1000)
    for done in range(1, 1001):
        renderer.on_event(ToolProgress(1, flood, done, 1000, None))
    lines = out.getvalue().splitlines()
    assert lines[0] == "[step 1] progress download: 1/1000 (0%)"
    assert lines[-1] == "[step 1] progress download: 1000/1000 (100%)"
    assert len(lines) < 20  # at most one line per PROGRESS_EVERY_S, and the last


@pytest.mark.filterwarnings("error")  # a wait left unawaited on cancellation would warn
async def test_cancelling_while_a_tool_reports_ends_the_run_with_every_call_answered() -> None:
    from agentkit import CancellationToken, FinalOutput, ToolMessage

    @tool
    async def forever(ctx: RunContext[None]) -> str:
        """Reports once, then never returns."""
        ctx.report_progress(1, 100, "started")
        await asyncio.sleep(3600)
        return "unreachable"

    token = CancellationToken()
    agent = Agent(ScriptedBackend([call("forever"), "unused"]), tools=[forever])
    events = []
    async for event in agent.run_stream("go", cancel=token):
        events.append(event)
        if isinstance(event, ToolProgress):
            token.cancel()
    final = events[-1]
    assert isinstance(final, FinalOutput) and final.result.stop_reason == "cancelled"
    answered = [m for m in final.result.messages if isinstance(m, ToolMessage)]
    assert len(answered) == 1 and answered[0].is_error

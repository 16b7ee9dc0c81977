"""The ``run``, ``chat`` and ``tools`` commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from pydantic_core import to_jsonable_python

from agentkit.cli.console import RichRenderer, rich_available
from agentkit.cli.exit_codes import ExitCode, exit_code_for
from agentkit.cli.extras import extra
from agentkit.cli.reporting import report_error
from agentkit.cli.setup import RunSetup, build, open_session
from agentkit.errors import ConfigurationError
from agentkit.events import FinalOutput, RunFailed, is_own
from agentkit.messages import Message
from agentkit.result import RunResult
from agentkit.tool import Tool
from agentkit.tracing import Redactor, observe_run
from agentkit.tracing.observe import model_label


def result_json(result: RunResult[Any] | None, error: Exception | None = None) -> dict[str, Any]:
    """The ``--json`` document: the RunResult, plus the error when the run failed."""
    document: dict[str, Any] = {"ok": error is None}
    if result is not None:
        document.update(
            output=to_jsonable_python(result.output, fallback=repr),
            text=result.text,
            stop_reason=result.stop_reason,
            steps=result.steps,
            usage={**result.usage.model_dump(), "total_tokens": result.usage.total_tokens},
            run_id=result.run_id,
            messages=[m.model_dump(mode="json") for m in result.messages],
        )
    if error is not None:
        document["error"] = {"type": type(error).__name__, "message": str(error)}
    redacted: dict[str, Any] = Redactor().value(document)
    return redacted


async def _run_once(
    setup: RunSetup, prompt: str, history: Sequence[Message] | None
) -> tuple[RunResult[Any] | None, Exception | None]:
    """One run through the observers: (result, None), or (partial result, error) when it failed."""
    final: RunResult[Any] | None = None
    try:
        async for event in observe_run(
            setup.agent, prompt, setup.observers, message_history=history, **setup.run_options
        ):
            if isinstance(event, FinalOutput | RunFailed) and is_own(event, setup.agent.name):
                final = event.result
    except Exception as exc:  # noqa: BLE001 - the caller reports it and picks the exit code
        return final, exc
    return final, None


LOADING_NOTICE_S = 0.3
"""A backend that is not ready within this long gets a "loading model" line or spinner."""


async def preload(setup: RunSetup) -> None:
    """Let the backend get ready up front (a local model loads its weights), so a missing or broken
    model fails before the run starts; a load that takes a moment is shown as it happens."""
    backend = setup.agent.backend
    name = model_label(backend)
    started = time.monotonic()
    from agentkit.backends.local.feedback import quiet_progress

    with quiet_progress():  # the task copies this context: a local model's own bar would tear the spinner
        loading = asyncio.ensure_future(backend.aload())
    shown = False
    try:
        done, _ = await asyncio.wait({loading}, timeout=LOADING_NOTICE_S)
        if not done and setup.renderer is not None:
            setup.renderer.model_loading(name)
            shown = True
        await loading
    except BaseException:
        loading.cancel()
        if shown and setup.renderer is not None:
            setup.renderer.run_ended()  # stops the spinner; the error is reported by the caller
        raise
    if shown and setup.renderer is not None:
        setup.renderer.model_loaded(name, time.monotonic() - started)


async def _run_and_close(setup: RunSetup, prompt: str) -> tuple[RunResult[Any] | None, Exception | None]:
    try:
        await preload(setup)
        return await _run_once(setup, prompt, None)
    finally:
        await setup.agent.backend.aclose()


def _print_answer(result: RunResult[Any]) -> None:
    output = result.output
    text = output if isinstance(output, str) else json.dumps(to_jsonable_python(output, fallback=repr))
    sys.stdout.write(Redactor().text(text) + "\n")
    sys.stdout.flush()


def cmd_run(args: argparse.Namespace) -> int:
    prompt = sys.stdin.read() if args.task == "-" else args.task
    if not prompt.strip():
        raise ConfigurationError("the task is empty")
    setup = build(args)
    try:
        result, error = asyncio.run(_run_and_close(setup, prompt))
    finally:
        setup.close()
    if args.json:
        sys.stdout.write(json.dumps(result_json(result, error), ensure_ascii=False) + "\n")
    elif result is not None and result.stop_reason == "final_answer":
        shown = isinstance(setup.renderer, RichRenderer) and setup.renderer.answer_shown
        if not shown:
            _print_answer(result)
    if error is not None:
        if not args.json:
            report_error(error, debug=args.debug)
        return exit_code_for(error)
    if result is None or result.stop_reason != "final_answer":
        return ExitCode.RUN_FAILED
    return ExitCode.OK


CHAT_HELP = "Commands: /reset forgets the conversation, /exit (or Ctrl-D) quits."


def _read_line(interactive: bool) -> str | None:
    try:
        if interactive:
            return input("you> ")
        line = sys.stdin.readline()
        return line.rstrip("\n") if line else None
    except EOFError:
        return None


def _reset(setup: RunSetup, args: argparse.Namespace) -> str:
    """Forget the conversation. With --session, the next turns go to a new session in the same store;
    the old conversation stays there, under its id, untouched."""
    old = setup.run_options.get("session")
    if old is None:
        return "(conversation forgotten)"
    new_id = f"{args.session_id}-{uuid.uuid4().hex[:8]}"
    setup.run_options["session"] = open_session(args.session, new_id)
    return (
        f"(conversation forgotten: now session {new_id!r}; the previous one is kept in {args.session} "
        f"as {old.session_id!r})"
    )


def cmd_chat(args: argparse.Namespace) -> int:
    setup = build(args)
    interactive = sys.stdin.isatty()
    if interactive:
        sys.stderr.write(f"agentkit chat · {CHAT_HELP}\n")
    history: list[Message] = []
    failed = False

    async def session() -> None:
        nonlocal history, failed
        loop = asyncio.get_running_loop()
        try:
            await preload(setup)
            while True:
                line = await loop.run_in_executor(None, _read_line, interactive)
                if line is None or line.strip() in ("/exit", "/quit"):
                    return
                if not line.strip():
                    continue
                if line.strip() == "/reset":
                    history = []
                    sys.stderr.write(_reset(setup, args) + "\n")
                    continue
                if line.strip() == "/help":
                    sys.stderr.write(CHAT_HELP + "\n")
                    continue
                use_history = None if "session" in setup.run_options else history
                result, error = await _run_once(setup, line, use_history)
                if result is not None:
                    history = list(result.messages)
                    if result.stop_reason == "final_answer":
                        shown = isinstance(setup.renderer, RichRenderer) and setup.renderer.answer_shown
                        if not shown:
                            _print_answer(result)
                if error is not None:
                    failed = True
                    report_error(error, debug=args.debug)
                    if exit_code_for(error) == ExitCode.CONFIGURATION:
                        raise error  # it would fail again on every turn
        finally:
            await setup.agent.backend.aclose()

    try:
        asyncio.run(session())
    finally:
        setup.close()
    return ExitCode.RUN_FAILED if failed and not interactive else ExitCode.OK


async def _mcp_tools(specs: Sequence[str]) -> list[Tool]:
    with extra("mcp", "--mcp"):
        from agentkit.mcp import toolset_from_spec

    tools: list[Tool] = []
    async with AsyncExitStack() as stack:
        for spec in specs:
            tools.extend(await stack.enter_async_context(toolset_from_spec(spec).tools_for_run()))
    return tools


def cmd_mcp(args: argparse.Namespace) -> int:
    """``agentkit mcp serve TARGET``: serve a registry over MCP until the client or a signal stops it."""
    with extra("mcp", "'agentkit mcp serve'"):
        from agentkit.mcp.server import load_registry, serve

    registry = load_registry(args.target)  # ConfigurationError / ToolDefinitionError: exit 3
    serve(
        registry,
        "http" if args.http else "stdio",
        host=args.host,
        port=args.port,
        path=args.path,
        timeout=args.timeout,
    )
    return ExitCode.OK


def cmd_tools(args: argparse.Namespace) -> int:
    from agentkit.cli.tool_loading import BUILTIN_TOOLS, load_tool_spec, load_tools

    entries: list[tuple[Tool, str]] = []
    unavailable: list[tuple[str, str]] = []
    if args.tool or args.mcp:
        entries = [(t, "--tool") for t in load_tools(args.tool)]
        if args.mcp:
            entries += [(t, "mcp") for t in asyncio.run(_mcp_tools(args.mcp))]
    else:
        for name in BUILTIN_TOOLS:
            try:
                entries += [(t, "built-in") for t in load_tool_spec(name)]
            except ConfigurationError as exc:
                unavailable.append((name, str(exc)))
    if args.json:
        # The OpenAI ``tools`` shape: the one most other programs read.
        specs = [
            {"source": source, "type": "function", "function": tool.spec().as_dict()}
            for tool, source in entries
        ]
        sys.stdout.write(json.dumps(specs, indent=2, ensure_ascii=False) + "\n")
    elif sys.stdout.isatty() and rich_available():
        _tools_table(entries, unavailable)
    else:
        for tool, source in entries:
            sys.stdout.write(_plain_tool(tool, source))
        for name, reason in unavailable:
            sys.stdout.write(f"{name} (unavailable): {reason}\n")
    return ExitCode.OK


def _parameters(tool: Tool) -> list[tuple[str, str, bool, str]]:
    schema = tool.parameters
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or ("|".join(str(p.get("type", "?")) for p in prop.get("anyOf", [])) or "any")
        rows.append((name, str(kind), name in required, str(prop.get("description", ""))))
    return rows


def _plain_tool(tool: Tool, source: str) -> str:
    approval = " [needs approval]" if tool.requires_approval else ""
    lines = [
        f"{tool.name} ({source}){approval}: {tool.description.splitlines()[0] if tool.description else ''}"
    ]
    for name, kind, required, description in _parameters(tool):
        flag = "required" if required else "optional"
        lines.append(f"  {name}: {kind}, {flag}" + (f" - {description}" if description else ""))
    return "\n".join(lines) + "\n"


def _tools_table(entries: list[tuple[Tool, str]], unavailable: list[tuple[str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="agentkit tools", show_lines=True)
    table.add_column("tool", style="bold cyan")
    table.add_column("description")
    table.add_column("parameters")
    for tool, source in entries:
        params = "\n".join(
            f"{name}: {kind}{'' if required else ' (optional)'}"
            for name, kind, required, _ in _parameters(tool)
        )
        name = tool.name + (" ⚠ approval" if tool.requires_approval else "")
        table.add_row(
            f"{name}\n[dim]{source}[/dim]",
            tool.description.splitlines()[0] if tool.description else "",
            params,
        )
    for name, reason in unavailable:
        table.add_row(f"{name}\n[dim]unavailable[/dim]", reason, "")
    Console().print(table)

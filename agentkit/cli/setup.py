"""From parsed command-line options to an Agent, its observers and its run options."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentkit.agent import Agent
from agentkit.cli import optional
from agentkit.cli.approval import approver_for
from agentkit.cli.console import PlainRenderer, RichRenderer, rich_available
from agentkit.errors import ConfigurationError
from agentkit.tracing import JsonlTrace, RunObserver


@dataclass
class RunSetup:
    """Everything one command needs to run the agent, and what to close afterwards."""

    agent: Agent[Any, Any]
    observers: list[RunObserver]
    renderer: RichRenderer | PlainRenderer | None
    run_options: dict[str, Any] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def make_renderer(args: argparse.Namespace) -> RichRenderer | PlainRenderer | None:
    """Rich live output on a terminal, plain lines on stderr when stdout is piped, none for --json/--quiet."""
    if getattr(args, "json", False) or args.quiet:
        return None
    if sys.stdout.isatty() and rich_available():
        return RichRenderer()
    return PlainRenderer(sys.stderr)


def build(args: argparse.Namespace) -> RunSetup:
    from agentkit.cli.tool_loading import load_tools

    renderer = make_renderer(args)
    if isinstance(renderer, RichRenderer):
        from agentkit.cli.main import log_to_console

        log_to_console(renderer.console)
    tools = load_tools(args.tool)
    options: dict[str, Any] = {"tools": tools, "max_steps": args.max_steps}
    if args.system:
        options["system_prompt"] = args.system
    pause = renderer._stop_spinner if isinstance(renderer, RichRenderer) else None
    options["approve"] = approver_for(args.yes, pause)
    if args.mcp:
        if not optional.accepts(Agent.__init__, "toolsets"):
            raise ConfigurationError("--mcp needs toolset support in Agent, which this installation lacks")
        options["toolsets"] = [optional.mcp_toolset(spec) for spec in args.mcp]
    agent: Agent[Any, Any] = Agent(args.model, **options)

    setup = RunSetup(agent, [], renderer)
    if renderer is not None:
        setup.observers.append(renderer)
    if args.trace:
        try:
            trace = JsonlTrace(args.trace)
        except OSError as exc:
            raise ConfigurationError(f"cannot write trace file {args.trace}: {exc.strerror or exc}") from None
        setup.observers.append(trace)
        setup.closers.append(trace.close)
    if args.otel:
        tracer, flush = optional.otel_tracer()
        setup.observers.append(tracer)
        setup.closers.append(flush)
    if args.session:
        if not optional.accepts(agent.run_stream, "session"):
            raise ConfigurationError(
                "--session needs session support in Agent.run, which this installation lacks"
            )
        setup.run_options["session"] = optional.open_session(args.session, args.session_id)
    return setup

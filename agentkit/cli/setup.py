"""From parsed command-line options to an Agent, its observers and its run options."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentkit.agent import Agent
from agentkit.cli.approval import approver_for
from agentkit.cli.console import PlainRenderer, RichRenderer, rich_available
from agentkit.cli.extras import extra
from agentkit.cli.reporting import log_to_console
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
        log_to_console(renderer.console)
    options: dict[str, Any] = {"tools": load_tools(args.tool), "max_steps": args.max_steps}
    if args.system:
        options["system_prompt"] = args.system
    pause = renderer._stop_spinner if isinstance(renderer, RichRenderer) else None
    options["approve"] = approver_for(args.yes, pause)
    if args.mcp:
        with extra("mcp", "--mcp"):
            from agentkit.mcp import toolset_from_spec
        options["toolsets"] = [toolset_from_spec(spec) for spec in args.mcp]
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
        tracer, flush = otel_tracer()
        setup.observers.append(tracer)
        setup.closers.append(flush)
    if args.session:
        setup.run_options["session"] = open_session(args.session, args.session_id)
    return setup


def open_session(store: str, session_id: str) -> Any:
    """The session ``--session STORE --session-id ID`` names: an SQLite file (a path or
    ``sqlite:///...``) or a PostgreSQL URL."""
    with extra("postgres", "a postgresql:// --session"):
        from agentkit.sessions import session_from_url

        return session_from_url(store, session_id)


def otel_tracer() -> tuple[Any, Callable[[], None]]:
    """An OTelTracer and a function that flushes it at exit.

    Spans go to the application's tracer provider when one is set; otherwise to a new SDK provider that
    exports over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (and the exporter is installed), or
    prints them to stderr.
    """
    with extra("otel", "--otel"):
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

        from agentkit.tracing.otel import OTelTracer

    provider = trace.get_tracer_provider()
    if type(provider).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider"):
        return OTelTracer(), lambda: None
    sdk_provider = TracerProvider()
    exporter: Any
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter,
            )
        except ImportError as exc:
            raise ConfigurationError(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed: "
                "pip install opentelemetry-exporter-otlp-proto-http"
            ) from exc
        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter(out=sys.stderr)
    sdk_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OTelTracer(sdk_provider), sdk_provider.shutdown

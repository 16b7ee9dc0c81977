"""Parts of agentkit the CLI uses only when installed: MCP toolsets, SQLite sessions, OpenTelemetry.

Each lookup either returns the real thing or raises a ConfigurationError that says what is missing
and how to get it; nothing is faked.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from agentkit.errors import ConfigurationError

SESSION_MODULES = ("agentkit.sessions", "agentkit")


def accepts(function: Callable[..., Any], parameter: str) -> bool:
    """Whether ``function`` takes a keyword ``parameter`` (features that land on other branches)."""
    try:
        return parameter in inspect.signature(function).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return False


def mcp_toolset(spec: str) -> Any:
    """An MCP toolset from ``"command args"`` or a URL."""
    try:
        mcp = importlib.import_module("agentkit.mcp")
    except ConfigurationError:
        raise
    except ImportError as exc:
        raise ConfigurationError(
            f"--mcp needs MCP support (agentkit.mcp), which this installation lacks: {exc}"
        ) from exc
    return mcp.toolset_from_spec(spec)


def mcp_serve(args: Any) -> int:
    """``agentkit mcp serve TARGET``: serve a registry over MCP until the client or a signal stops it."""
    try:
        server = importlib.import_module("agentkit.mcp.server")
    except ConfigurationError:
        raise
    except ImportError as exc:
        raise ConfigurationError(
            f"'agentkit mcp serve' needs MCP support (agentkit.mcp), which this installation lacks: {exc}"
        ) from exc
    registry = server.load_registry(args.target)  # ConfigurationError / ToolDefinitionError: exit 3
    server.serve(
        registry,
        "http" if args.http else "stdio",
        host=args.host,
        port=args.port,
        path=args.path,
        timeout=args.timeout,
    )
    return 0


def session_class() -> Any:
    """The SQLite session class, wherever the memory package put it."""
    for name in SESSION_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found = getattr(module, "SQLiteSession", None)
        if found is not None:
            return found
    raise ConfigurationError(
        "--session needs SQLite sessions (SQLiteSession), which this installation of agentkit lacks"
    )


def open_session(path: str, session_id: str) -> Any:
    return session_class()(path, session_id)


def otel_tracer() -> tuple[Any, Callable[[], None]]:
    """An OTelTracer and a function that flushes it at exit.

    Spans go to the application's tracer provider when one is set; otherwise to a new SDK provider that
    exports over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (and the exporter is installed), or
    prints them to stderr.
    """
    from opentelemetry import trace

    from agentkit.tracing.otel import OTelTracer

    provider = trace.get_tracer_provider()
    if type(provider).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider"):
        return OTelTracer(), lambda: None
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError as exc:
        raise ConfigurationError("--otel needs the 'otel' extra: pip install 'agentkit[otel]'") from exc
    sdk_provider = TracerProvider()
    exporter: Any = None
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

"""Run traces: JSON lines of every typed event, OpenTelemetry GenAI spans, and replay.

    from agentkit.tracing import JsonlTrace, arun_observed, replay_messages

    with JsonlTrace("run.jsonl") as trace:
        result = await arun_observed(agent, "What is 2 + 3?", [trace])
    assert replay_messages("run.jsonl") == redacted_messages(result.messages, trace.redactor)
    # == result.messages itself when nothing in the run was a secret

Secrets (values of environment variables named like *KEY*, *TOKEN*, *SECRET*, *PASSWORD*, and
key-shaped strings) are redacted from everything written. ``OTelTracer`` lives in
``agentkit.tracing.otel`` and needs the ``otel`` extra.
"""

from agentkit.tracing.jsonl import TRACE_FORMAT, JsonlTrace, event_record
from agentkit.tracing.observe import RunObserver, RunStart, arun_observed, observe_run
from agentkit.tracing.redact import REDACTED, RedactingFilter, Redactor, secrets_from_env
from agentkit.tracing.replay import TraceRun, read_trace, redacted_messages, replay_messages, replay_run

__all__ = [
    "REDACTED",
    "TRACE_FORMAT",
    "JsonlTrace",
    "Redactor",
    "RedactingFilter",
    "RunObserver",
    "RunStart",
    "TraceRun",
    "arun_observed",
    "event_record",
    "observe_run",
    "read_trace",
    "redacted_messages",
    "replay_messages",
    "replay_run",
    "secrets_from_env",
]

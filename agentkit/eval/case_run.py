"""One case on one model: send the request, time it, score the calls. Tools are never executed.

The request is the case's messages and its tools' specs, nothing else: no system prompt unless the
settings give one, ``tool_choice="auto"`` unless they say otherwise, greedy decoding (temperature 0)
and at most ``max_tokens`` tokens of reply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agentkit.backends.base import Backend, ModelRequest, ModelResponse, ModelSettings
from agentkit.errors import AgentkitError
from agentkit.eval.prepare import PreparedCase
from agentkit.eval.scoring import ProducedCall, Verdict, score
from agentkit.messages import Message, SystemMessage

DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True, slots=True)
class EvalSettings:
    """How every case is asked. ``max_tokens`` 256 holds any call BFCL expects; ``tool_choice`` "auto"
    lets a model decline to call (the ``no_call`` cases)."""

    tool_choice: str = "auto"
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    system_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case's outcome on one model (a line of the per-case JSONL)."""

    model: str
    case_id: str
    category: str
    passed: bool
    reason: str
    calls: tuple[ProducedCall, ...] = ()
    expected: Any = None
    text: str | None = None
    error: str | None = None
    """The model call failed (not the model's answer being wrong): the case is rerun on resume."""
    seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "id": self.case_id,
            "category": self.category,
            "passed": self.passed,
            "reason": self.reason,
            "calls": [c.to_json() for c in self.calls],
            "expected": self.expected,
            "text": self.text,
            "error": self.error,
            "seconds": round(self.seconds, 4),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
        }

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> CaseResult:
        return cls(
            model=str(row["model"]),
            case_id=str(row["id"]),
            category=str(row["category"]),
            passed=bool(row["passed"]),
            reason=str(row["reason"]),
            calls=tuple(
                ProducedCall(c["name"], c.get("arguments") or {}, c.get("error"))
                for c in row.get("calls") or []
            ),
            expected=row.get("expected"),
            text=row.get("text"),
            error=row.get("error"),
            seconds=float(row.get("seconds") or 0.0),
            input_tokens=int(row.get("input_tokens") or 0),
            output_tokens=int(row.get("output_tokens") or 0),
            cost=row.get("cost"),
        )


def build_request(prepared: PreparedCase, settings: EvalSettings) -> ModelRequest:
    messages: list[Message] = list(prepared.case.messages)
    if settings.system_prompt is not None:
        messages.insert(0, SystemMessage(content=settings.system_prompt))
    return ModelRequest(
        messages=messages,
        tools=list(prepared.specs),
        tool_choice=settings.tool_choice if prepared.specs else "auto",
        settings=ModelSettings(temperature=settings.temperature, max_tokens=settings.max_tokens),
    )


def produced_calls(prepared: PreparedCase, response: ModelResponse) -> tuple[ProducedCall, ...]:
    return tuple(
        ProducedCall(prepared.expectation_name(c.name), c.arguments, c.arguments_error)
        for c in response.message.tool_calls
    )


def _cost(response: ModelResponse) -> float | None:
    value = getattr(response.usage, "cost", None)  # reported by some providers (OpenRouter, LiteLLM)
    return float(value) if isinstance(value, int | float) else None


def judge(prepared: PreparedCase, calls: tuple[ProducedCall, ...]) -> Verdict:
    return score(calls, prepared.case.expect, prepared.signatures)


async def ask(backend: Backend, model: str, prepared: PreparedCase, settings: EvalSettings) -> CaseResult:
    """Ask, time and score one case; a failed model call raises (the batch engine retries it)."""
    case = prepared.case
    started = time.perf_counter()
    response = await backend.complete(build_request(prepared, settings))
    seconds = time.perf_counter() - started
    calls = produced_calls(prepared, response)
    verdict = judge(prepared, calls)
    return CaseResult(
        model=model,
        case_id=case.id,
        category=case.category,
        passed=verdict.passed,
        reason=verdict.reason,
        calls=calls,
        expected=case.expect.to_json(),
        text=response.message.content,
        seconds=seconds,
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
        cost=_cost(response),
    )


def failed_result(model: str, prepared: PreparedCase, error: str, seconds: float = 0.0) -> CaseResult:
    """A case whose model call failed: not the model's answer being wrong, so it is rerun on resume."""
    case = prepared.case
    line = error.splitlines()[0] if error else "model call failed"
    return CaseResult(
        model,
        case.id,
        case.category,
        False,
        f"model error: {line}",
        (),
        case.expect.to_json(),
        None,
        line,
        seconds,
    )


async def run_case(
    backend: Backend, model: str, prepared: PreparedCase, settings: EvalSettings
) -> CaseResult:
    """:func:`ask`, with a failed model call turned into a result: one bad request must not end an eval
    of thousands."""
    started = time.perf_counter()
    try:
        return await ask(backend, model, prepared, settings)
    except (AgentkitError, OSError) as exc:
        return failed_result(model, prepared, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)

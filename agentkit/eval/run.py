"""Run prepared cases on models, on the batch engine: concurrent, resumable, local or on Ray.

Each case is one batch task, and the batch's "agent" is an :class:`EvalAgent`: one model call with the
case's messages and tools, scored, never running a tool. The batch engine brings the rest: bounded
concurrency, results as they finish, retries of model errors, a results file that a rerun resumes from
(one per model, under ``OUT_DIR/runs/``), and Ray (``RayEngine``) with the model loaded once per actor.

A result is stored with the calls the model made, and scored again on the driver against the case as it
is now: editing an expectation needs no rerun. Editing what a case asks (its messages, its tools) gives
it a new task id, so only those cases run again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentkit.agent import Agent
from agentkit.backends import resolve_backend
from agentkit.backends.base import Backend, ModelRequest, ModelSettings
from agentkit.errors import AgentkitError, BackendError, ConfigurationError
from agentkit.eval.case_run import CaseResult, EvalSettings, ask, failed_result, judge
from agentkit.eval.cases import message_to_json
from agentkit.eval.prepare import PreparedCase
from agentkit.messages import Usage, UserMessage
from agentkit.result import RunResult

ResultCallback = Callable[[CaseResult], None]
StartCallback = Callable[[str, int], None]


class ModelUnreachableError(BackendError):
    """A model failed its check before the eval started (unreachable, refused the key, unknown name)."""


def model_label(model: str | Backend) -> str:
    """How a model is named in reports: its model string, without credentials in a URL."""
    text = model if isinstance(model, str) else getattr(model, "name", type(model).__name__)
    return re.sub(r"://[^/@\s]+@", "://", str(text))


def task_id(prepared: PreparedCase) -> str:
    """The case id plus a digest of what the model is asked: a changed request is a new task.

    The tools enter the digest in the shape results files were first written with (``{"type":
    "function", "function": spec}``), so results written before specs became typed still resume."""
    request = {
        "messages": [message_to_json(m) for m in prepared.case.messages],
        "tools": [{"type": "function", "function": spec.as_dict()} for spec in prepared.specs],
    }
    digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{prepared.case.id}#{digest}"


class EvalAgent(Agent[Any, Any]):
    """The batch engine's unit of work for an eval: ``arun(task_id)`` asks the model that case once and
    returns the scored :class:`CaseResult` (as JSON) as the run's output. No tool runs, no system
    prompt is added; model errors are raised, for the engine to retry or to leave for a resume."""

    def __init__(
        self, model: str | Backend, cases: Mapping[str, PreparedCase], settings: EvalSettings, label: str
    ):
        super().__init__(model, context=False)
        self.cases = cases
        self.eval_settings = settings
        self.label = label

    async def arun(self, prompt: str | None, **_: Any) -> RunResult[Any]:
        prepared = self.cases[str(prompt)]
        result = await ask(self.backend, self.label, prepared, self.eval_settings)
        usage = Usage(input_tokens=result.input_tokens, output_tokens=result.output_tokens, requests=1)
        return RunResult(
            output=result.to_json(),
            messages=[],
            usage=usage,
            steps=1,
            stop_reason="final_answer",
            text=result.text,
        )


@dataclass(frozen=True)
class EvalWorker:
    """Builds an :class:`EvalAgent` in each worker (picklable: Ray actors build their own, so a local
    model loads once per actor)."""

    model: str
    cases: tuple[PreparedCase, ...]
    settings: EvalSettings
    label: str

    def __call__(self) -> EvalAgent:
        return EvalAgent(self.model, {task_id(p): p for p in self.cases}, self.settings, self.label)


PROBE_TEXT = "Reply with the word OK."
_PROBE = ModelRequest(
    messages=[UserMessage(content=PROBE_TEXT)], settings=ModelSettings(max_tokens=1, temperature=0)
)


async def check_model(backend: Backend, label: str) -> None:
    """Load the model if it loads lazily, then send it a one-token request (not retried), so that a
    model that cannot be used is named before any case runs."""
    from agentkit.retry import RetryPolicy

    aload = getattr(backend, "aload", None)
    try:
        if aload is not None:
            await aload()
        retry = getattr(backend, "retry", None)
        if isinstance(retry, RetryPolicy):
            backend.retry = RetryPolicy(max_attempts=1)  # type: ignore[attr-defined]
        try:
            await backend.complete(_PROBE)
        finally:
            if isinstance(retry, RetryPolicy):
                backend.retry = retry  # type: ignore[attr-defined]
    except ConfigurationError:
        raise
    except (AgentkitError, OSError) as exc:
        status = getattr(exc, "status", None)
        if status == 400:
            return  # it answered: it only disliked the one-token probe
        cause = getattr(exc, "last_error", None) or exc  # retries exhausted: what the last try met
        first = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise ModelUnreachableError(f"model {label} cannot be used: {first}") from exc


def _from_batch(result: Any, prepared: PreparedCase, label: str) -> CaseResult:
    """A batch result -> a case result, scored against the case as it is now."""
    if result.error is not None or not isinstance(result.output, dict):
        message = f"{result.error.type}: {result.error.message}" if result.error else "no result"
        return failed_result(label, prepared, message, result.duration)
    stored = CaseResult.from_json(result.output)
    verdict = judge(prepared, stored.calls)
    return replace(
        stored, model=label, category=prepared.case.category, passed=verdict.passed, reason=verdict.reason,
        expected=prepared.case.expect.to_json(),
    )  # fmt: skip


@dataclass
class ModelRun:
    """What one model's part of an eval did in this process (resumed results are not in ``ran``)."""

    label: str
    results: dict[str, CaseResult] = field(default_factory=dict)
    ran: int = 0
    wall_seconds: float = 0.0


SERVER_CONCURRENCY = 8


def default_concurrency(model: str | Backend) -> int:
    """1 for an in-process transformers model (it decodes one request at a time: more would only
    queue, and inflate each case's latency), 8 for anything else (a server)."""
    if isinstance(model, str):
        in_process = model.split(":", 1)[0] in ("local", "hf", "gguf")
    else:
        module = sys.modules.get("agentkit.backends.transformers.backend")  # not loaded: not one of those
        in_process = module is not None and isinstance(model, module.TransformersBackend)
    return 1 if in_process else SERVER_CONCURRENCY


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")[:80] or "model"


async def run_model(
    model: str | Backend,
    prepared: Sequence[PreparedCase],
    settings: EvalSettings,
    *,
    runs_dir: Path | None,
    concurrency: int | None,
    engine: Any = None,
    backend: Backend | None = None,
    force: bool = False,
    on_start: StartCallback | None = None,
    on_result: ResultCallback | None = None,
) -> ModelRun:
    """Every case on one model; ``runs_dir``: keep results there and resume from them. ``backend``:
    the model already resolved (and checked), used by the local engine; Ray workers build their own
    from the model string."""
    from agentkit.batch import Batch, Task

    label = model_label(model)
    by_task = {task_id(p): p for p in prepared}
    agent: Any
    if engine is not None and engine.name != "local":
        if not isinstance(model, str):
            raise ConfigurationError(
                f"the {engine.name} engine needs model strings, got a {type(model).__name__}"
            )
        agent = EvalWorker(model, tuple(prepared), settings, label)
    else:
        agent = EvalAgent(backend or model, by_task, settings, label)
    out = str(runs_dir / f"{_slug(label)}.jsonl") if runs_dir is not None else None
    if concurrency is None:
        concurrency = default_concurrency(backend if backend is not None else model)
    description = _settings_description(label, settings)
    if out is not None:
        _check_settings(out, description, force)
    batch = Batch(
        agent, concurrency=concurrency, engine=engine, out=out, batch_id=f"eval:{label}",
        description=description, force=force,
    )  # fmt: skip
    run = ModelRun(label)
    stored = _stored(out, by_task, label) if out is not None else {}
    if on_start is not None:
        on_start(label, len(by_task) - len(stored))
    started = time.perf_counter()
    tasks = (Task(id=key, prompt=key, metadata={"case": p.case.id}) for key, p in by_task.items())
    async for result in batch.results(tasks):
        prepared_case = by_task.get(result.task_id)
        if prepared_case is None:
            continue
        case_result = _from_batch(result, prepared_case, label)
        run.results[prepared_case.case.id] = case_result
        run.ran += 1
        if on_result is not None:
            on_result(case_result)
    run.wall_seconds = time.perf_counter() - started
    if out is not None:
        run.ran, run.wall_seconds = _add_throughput(out, run.ran, run.wall_seconds)
        for case_id, earlier in _stored(out, by_task, label).items():  # earlier runs', resumed from
            run.results.setdefault(case_id, earlier)
    return run


def _add_throughput(out: str, ran: int, wall_seconds: float) -> tuple[int, float]:
    """Cases asked and wall time, summed over the runs that filled ``out`` (so that a report written
    after a resume still has a throughput), kept next to it."""
    path = Path(out).with_suffix(".throughput.json")
    try:
        earlier = json.loads(path.read_text())
        ran, wall_seconds = ran + int(earlier["ran"]), wall_seconds + float(earlier["wall_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet (or unreadable): this run's figures alone
    path.write_text(json.dumps({"ran": ran, "wall_seconds": wall_seconds}))
    return ran, wall_seconds


def _check_settings(out: str, description: Mapping[str, Any], force: bool) -> None:
    """Results asked with other settings are not mixed in: refused, or with ``force`` discarded."""
    from agentkit.batch.output import scan_output

    header = scan_output(out).header or {}
    differences = [
        f"{k}: {header.get(k)!r} there, {v!r} now" for k, v in description.items() if header.get(k) != v
    ]
    if not header or not differences:
        return
    if not force:
        raise ConfigurationError(
            f"{out} holds results asked with other settings ({'; '.join(differences)}); "
            "use another --out, or --force to discard them"
        )
    Path(out).unlink()
    Path(out).with_suffix(".throughput.json").unlink(missing_ok=True)


def _stored(out: str, by_task: Mapping[str, PreparedCase], label: str) -> dict[str, CaseResult]:
    """The results an earlier run left in ``out`` for the current cases, scored anew."""
    from agentkit.batch.output import read_results

    if not Path(out).exists():
        return {}
    found: dict[str, CaseResult] = {}
    for stored in read_results(out):
        prepared_case = by_task.get(stored.task_id)
        if prepared_case is not None:
            found[prepared_case.case.id] = _from_batch(stored, prepared_case, label)
    return found


def _settings_description(label: str, settings: EvalSettings) -> dict[str, Any]:
    return {
        "eval": label,
        "tool_choice": settings.tool_choice,
        "max_tokens": settings.max_tokens,
        "temperature": settings.temperature,
        "system_prompt": settings.system_prompt,
    }


async def iterate_models(
    models: Sequence[str | Backend],
    prepared: Sequence[PreparedCase],
    settings: EvalSettings,
    **options: Any,
) -> AsyncIterator[ModelRun]:
    """Check every model first (a bad one is named before any case runs), then run them in turn."""
    labels = [model_label(m) for m in models]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ConfigurationError(
            f"model {repeated[0]} is given twice: each model's results are kept by its name"
        )
    backends = [resolve_backend(m) for m in models]
    for model, backend in zip(models, backends, strict=True):
        await check_model(backend, model_label(model))
    for model, backend in zip(models, backends, strict=True):
        yield await run_model(model, prepared, settings, backend=backend, **options)


def run_sync(coroutine_factory: Callable[[], Any]) -> Any:
    """Run a coroutine from sync code, also when an event loop is already running (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_factory())
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_factory())).result()

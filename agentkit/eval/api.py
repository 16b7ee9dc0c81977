"""``evaluate``: cases x models -> an :class:`EvalReport`, the one entry point of the Python API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agentkit.backends.base import Backend
from agentkit.errors import ConfigurationError
from agentkit.eval.case_run import CaseResult, EvalSettings
from agentkit.eval.cases import CaseProblem, EvalCase, LoadedCases, load_cases
from agentkit.eval.prepare import prepare
from agentkit.eval.report import EvalReport, model_report
from agentkit.eval.run import ResultCallback, StartCallback, iterate_models, run_sync
from agentkit.tool import Tool

Models = str | Backend | Sequence[str | Backend]
CaseSource = str | Path | LoadedCases | Sequence[EvalCase]
ProblemCallback = Callable[[CaseProblem], None]


def _cases(source: CaseSource) -> tuple[list[EvalCase], list[CaseProblem], str]:
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ConfigurationError(f"case file not found: {path}")
        loaded = load_cases(path)
        return loaded.cases, loaded.problems, loaded.source
    if isinstance(source, LoadedCases):
        return source.cases, source.problems, source.source
    return list(source), [], "<cases>"


def _tools(tools: Sequence[Tool | Callable[..., Any] | str]) -> list[Tool]:
    resolved: list[Tool] = []
    for item in tools:
        if isinstance(item, Tool):
            resolved.append(item)
        elif isinstance(item, str):
            from agentkit.cli.tool_loading import load_tool_spec

            resolved.extend(load_tool_spec(item))
        else:
            resolved.append(Tool.from_function(item))
    return resolved


async def aevaluate(
    cases: CaseSource,
    models: Models = "local",
    *,
    tools: Sequence[Tool | Callable[..., Any] | str] = (),
    settings: EvalSettings | None = None,
    out_dir: str | Path | None = None,
    concurrency: int | None = None,
    engine: Any = None,
    force: bool = False,
    on_start: StartCallback | None = None,
    on_result: ResultCallback | None = None,
    on_problem: ProblemCallback | None = None,
    title: str = "agentkit eval",
) -> EvalReport:
    """Ask every model every case (tools are offered, never run) and score the calls by BFCL's rules.

    Args:
        cases: a JSONL path, loaded cases, or :class:`EvalCase` objects (e.g. from ``load_bfcl``).
        models: model strings (``local``, ``openai:MODEL@URL``, ...) or backends.
        tools: the tools cases name: :class:`Tool` objects, typed functions, or ``file.py[:name]``.
        settings: how cases are asked (tool choice, max tokens, temperature, system prompt).
        out_dir: keep each model's results under ``out_dir/runs`` (a rerun resumes: only cases without
            a result run) and write ``cases.jsonl`` and ``report.html`` there.
        concurrency: cases in flight per model; default 1 for an in-process model (it decodes one request at
            a time: more would only queue, and inflate each case's latency) and 8 for a server.
        engine: the batch engine (default: this process).
        on_start / on_result / on_problem: called when a model starts (with how many cases it will run:
            resumed ones are not run again), with each case result as it arrives, and with each case
            that cannot run.

    Raises:
        ConfigurationError: a tool file that does not import, a bad model string, no runnable case.
        ModelUnreachableError: a model failed its check; raised before any case runs.
    """
    settings = settings or EvalSettings()
    case_list, problems, source = _cases(cases)
    prepared, more = prepare(case_list, _tools(tools), source)
    problems = [*problems, *more]
    for problem in problems:
        if on_problem is not None:
            on_problem(problem)
    if not prepared:
        first = f": {problems[0]}" if problems else ""
        raise ConfigurationError(f"no case can run ({len(problems)} could not be read or resolved){first}")
    model_list = [models] if isinstance(models, str | Backend) else list(models)
    if not model_list:
        raise ConfigurationError("no model to evaluate")
    root = Path(out_dir) if out_dir is not None else None
    runs_dir = root / "runs" if root is not None else None
    if runs_dir is not None:
        runs_dir.mkdir(parents=True, exist_ok=True)
    order = {p.case.id: i for i, p in enumerate(prepared)}
    reports = []
    results: list[CaseResult] = []
    async for run in iterate_models(
        model_list, prepared, settings, runs_dir=runs_dir, concurrency=concurrency, engine=engine,
        force=force,
        on_start=on_start, on_result=on_result,
    ):  # fmt: skip
        rows = sorted(run.results.values(), key=lambda r: order.get(r.case_id, 0))
        reports.append(model_report(run.label, rows, run.ran, run.wall_seconds))
        results.extend(rows)
    report = EvalReport(reports, results, problems, title)
    if root is not None:
        report.write_jsonl(root / "cases.jsonl")
        report.write_html(root / "report.html")
    return report


def evaluate(cases: CaseSource, models: Models = "local", **options: Any) -> EvalReport:
    """:func:`aevaluate` for synchronous code (also inside a running event loop)."""
    report: EvalReport = run_sync(lambda: aevaluate(cases, models, **options))
    return report

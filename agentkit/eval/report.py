"""The eval report: accuracy per category and model, latency, tokens, cost; as a typed object, a
terminal table, and a per-case JSONL (the HTML report is :mod:`agentkit.eval.html_report`)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentkit.eval.case_run import CaseResult
from agentkit.eval.cases import CaseProblem


@dataclass(frozen=True, slots=True)
class CategoryScore:
    category: str
    passed: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class ModelReport:
    """One model's figures. ``seconds_per_case``: the mean latency of a model call; ``calls_per_second``:
    cases finished per second of wall time, over the runs that asked them (``None`` when unknown);
    ``cost``: ``None`` unless the backend reported one."""

    model: str
    categories: dict[str, CategoryScore]
    passed: int
    total: int
    errors: int
    seconds_per_case: float
    latency_p50: float
    latency_p90: float
    latency_max: float
    calls_per_second: float | None
    input_tokens: int
    output_tokens: int
    cost: float | None

    @property
    def accuracy(self) -> float:
        return self.passed / self.total if self.total else 0.0


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def model_report(
    model: str, results: Sequence[CaseResult], ran: int = 0, wall_seconds: float = 0.0
) -> ModelReport:
    categories: dict[str, list[CaseResult]] = {}
    for result in results:
        categories.setdefault(result.category, []).append(result)
    timed = [r.seconds for r in results if r.error is None]
    costs = [r.cost for r in results if r.cost is not None]
    return ModelReport(
        model=model,
        categories={
            name: CategoryScore(name, sum(r.passed for r in rows), len(rows))
            for name, rows in categories.items()
        },
        passed=sum(r.passed for r in results),
        total=len(results),
        errors=sum(r.error is not None for r in results),
        seconds_per_case=statistics.fmean(timed) if timed else 0.0,
        latency_p50=_quantile(timed, 0.5),
        latency_p90=_quantile(timed, 0.9),
        latency_max=max(timed, default=0.0),
        calls_per_second=ran / wall_seconds if ran and wall_seconds > 0 else None,
        input_tokens=sum(r.input_tokens for r in results),
        output_tokens=sum(r.output_tokens for r in results),
        cost=sum(costs) if costs else None,
    )


@dataclass(frozen=True)
class EvalReport:
    """Everything an eval found: per model, per category, per case; and the cases that could not run."""

    models: list[ModelReport]
    results: list[CaseResult]
    problems: list[CaseProblem] = field(default_factory=list)
    title: str = "agentkit eval"

    @property
    def categories(self) -> list[str]:
        names: list[str] = []
        for result in self.results:
            if result.category not in names:
                names.append(result.category)
        return names

    def model(self, name: str) -> ModelReport:
        for report in self.models:
            if report.model == name:
                return report
        raise KeyError(
            f"no model {name!r} in this report (models: {', '.join(m.model for m in self.models)})"
        )

    def accuracy(self, model: str, category: str | None = None) -> float:
        """A model's accuracy overall, or on one category."""
        report = self.model(model)
        return report.accuracy if category is None else report.categories[category].accuracy

    def failures(self, model: str | None = None) -> list[CaseResult]:
        return [r for r in self.results if not r.passed and (model is None or r.model == model)]

    def table(self) -> str:
        """The terminal table: accuracy per category (columns: models), then speed, tokens and cost."""
        return render_table(self)

    def write_jsonl(self, path: str | Path) -> Path:
        """One line per case and model (the fields of :class:`CaseResult`)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8") as out:
            for result in self.results:
                out.write(json.dumps(result.to_json(), ensure_ascii=False, default=repr) + "\n")
        return target

    def write_html(self, path: str | Path) -> Path:
        from agentkit.eval.html_report import render_html

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_html(self), encoding="utf-8")
        return target

    def to_json(self) -> dict[str, Any]:
        return {
            "models": [
                {
                    "model": m.model,
                    "accuracy": m.accuracy,
                    "passed": m.passed,
                    "total": m.total,
                    "errors": m.errors,
                    "categories": {
                        c.category: {"passed": c.passed, "total": c.total} for c in m.categories.values()
                    },
                    "seconds_per_case": m.seconds_per_case,
                    "calls_per_second": m.calls_per_second,
                    "input_tokens": m.input_tokens,
                    "output_tokens": m.output_tokens,
                    "cost": m.cost,
                }
                for m in self.models
            ],
            "problems": [str(p) for p in self.problems],
        }


def _pct(score: CategoryScore | None) -> str:
    if score is None:
        return "-"
    return f"{100 * score.accuracy:.1f}% ({score.passed}/{score.total})"


def _grid(header: list[str], rows: Iterable[list[str]]) -> str:
    body = [header, *rows]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in body
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_table(report: EvalReport) -> str:
    models = report.models
    header = ["category", *(m.model for m in models)]
    rows = [[name, *(_pct(m.categories.get(name)) for m in models)] for name in report.categories]
    rows.append(["all", *(_pct(CategoryScore("all", m.passed, m.total)) for m in models)])
    rows.append(["model errors", *(str(m.errors) for m in models)])
    rows.append(["s per case (mean)", *(f"{m.seconds_per_case:.2f}" for m in models)])
    rows.append(["s per case (p50/p90)", *(f"{m.latency_p50:.2f}/{m.latency_p90:.2f}" for m in models)])
    rows.append(["calls/s", *(f"{m.calls_per_second:.2f}" if m.calls_per_second else "-" for m in models)])
    rows.append(["tokens in/out", *(f"{m.input_tokens:,}/{m.output_tokens:,}" for m in models)])
    rows.append(["cost", *(f"${m.cost:.4f}" if m.cost is not None else "not reported" for m in models)])
    return _grid(header, rows)

"""The HTML report: one self-contained file (no CDN, no external file), charts drawn as inline SVG.

It holds the summary table, accuracy per category with the models side by side, the distribution of
model-call latency per model, and a table of failures (filterable by text, model and category) with
the expected and the produced calls shown as a line diff. Every piece of case or model text is
escaped: replies are untrusted.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING, Any

from agentkit.eval.values import normalize

if TYPE_CHECKING:
    from agentkit.eval.case_run import CaseResult
    from agentkit.eval.report import EvalReport, ModelReport

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
MAX_FAILURES = 5000
BINS = 20

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
  padding:0 1rem;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.meta{color:#666}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #eee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.legend span{display:inline-block;margin-right:1.2rem}
.legend i{display:inline-block;width:.9rem;height:.9rem;margin-right:.35rem;vertical-align:-2px}
svg text{font:12px system-ui,sans-serif;fill:#333}
svg text.value{font-size:10px;fill:#555}
.axis{stroke:#999}
.grid{stroke:#eee}
.controls{display:flex;gap:.6rem;margin:.6rem 0;flex-wrap:wrap}
.controls input{flex:1;min-width:14rem;padding:.3rem}
#failures{table-layout:fixed}
#failures th:nth-child(1),#failures th:nth-child(2){width:9%}
#failures th:nth-child(3){width:12%}#failures th:nth-child(4){width:30%}
#failures td{overflow-wrap:anywhere}
pre.diff{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;max-height:18rem;overflow:auto;
  font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
.diff .del{background:#fde2e1;color:#8a1c1c}
.diff .ins{background:#dcf5dc;color:#1c5e1c}
.diff .same{color:#555}
.reason{font-weight:600}
.text{color:#666;font-style:italic}
.problems li{font-family:ui-monospace,monospace}
"""

_SCRIPT = """
(function () {
  var text = document.getElementById('filter-text'), model = document.getElementById('filter-model'),
      cat = document.getElementById('filter-category'), rows = document.querySelectorAll('tr.failure'),
      count = document.getElementById('failure-count');
  function apply() {
    var q = text.value.toLowerCase(), m = model.value, c = cat.value, shown = 0;
    rows.forEach(function (r) {
      var ok = (!m || r.dataset.model === m) && (!c || r.dataset.category === c) &&
               (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
      r.style.display = ok ? '' : 'none';
      if (ok) shown++;
    });
    count.textContent = shown + ' of ' + rows.length + ' failures shown';
  }
  [text, model, cat].forEach(function (e) {
    e.addEventListener('input', apply);
    e.addEventListener('change', apply);
  });
  apply();
})();
"""


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _legend(models: Sequence[ModelReport]) -> str:
    items = "".join(
        f'<span><i style="background:{_colour(i)}"></i>{escape(m.model)}</span>' for i, m in enumerate(models)
    )
    return f'<p class="legend">{items}</p>'


def accuracy_chart(report: EvalReport) -> str:
    """Grouped bars: one group per category (and "all"), one bar per model, height = accuracy."""
    models = report.models
    groups = [*report.categories, "all"]
    bar, gap, top, height = 22, 20, 16, 220
    left = max(44, int(6 * max(len(g) for g in groups)))  # room for the first slanted label
    group_width = max(1, len(models)) * bar + gap
    width = left + len(groups) * group_width + 10
    parts = [
        f'<svg id="accuracy-chart" role="img" aria-label="accuracy per category and model" '
        f'width="{width}" height="{top + height + 90}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in range(0, 101, 25):
        y = top + height - tick * height / 100
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}%</text>')
    for g, group in enumerate(groups):
        x0 = left + g * group_width + gap / 2
        for i, model in enumerate(models):
            score = model.categories.get(group) if group != "all" else None
            passed, total = (
                (score.passed, score.total)
                if score
                else ((model.passed, model.total) if group == "all" else (0, 0))
            )
            accuracy = passed / total if total else 0.0
            h = accuracy * height
            x = x0 + i * bar
            parts.append(
                f'<rect class="bar" data-model="{escape(model.model)}" data-category="{escape(group)}" '
                f'data-accuracy="{accuracy:.4f}" x="{x:.1f}" y="{top + height - h:.1f}" width="{bar - 2}" '
                f'height="{h:.1f}" fill="{_colour(i)}"><title>{escape(model.model)} · {escape(group)}: '
                f"{100 * accuracy:.1f}% ({passed}/{total})</title></rect>"
            )
            if total:
                parts.append(
                    f'<text class="value" x="{x + (bar - 2) / 2:.1f}" y="{top + height - h - 3:.1f}" '
                    f'text-anchor="middle">{100 * accuracy:.0f}</text>'
                )
        label_x = x0 + len(models) * bar / 2
        label_y = top + height + 14
        parts.append(
            f'<text x="{label_x:.1f}" y="{label_y}" text-anchor="end" '
            f'transform="rotate(-35 {label_x:.1f} {label_y})">{escape(group)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{width - 10}" y1="{top + height}" y2="{top + height}"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def seconds_label(value: float) -> str:
    """A latency tick: milliseconds below a second, seconds above."""
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.1f}s"


def _bins(values: Sequence[float], upper: float) -> list[int]:
    counts = [0] * BINS
    for value in values:
        index = min(BINS - 1, int(value / upper * BINS)) if upper > 0 else 0
        counts[index] += 1
    return counts


def latency_chart(report: EvalReport) -> str:
    """One histogram per model over the same bins: seconds per model call (failed calls left out)."""
    per_model = {
        m.model: [r.seconds for r in report.results if r.model == m.model and r.error is None]
        for m in report.models
    }
    everything = sorted(v for values in per_model.values() for v in values)
    upper = everything[min(len(everything) - 1, math.ceil(0.99 * len(everything)) - 1)] if everything else 1.0
    upper = max(upper, 1e-3)
    out = []
    bar, left, height = 22, 40, 110
    width = left + BINS * bar + 20
    for i, model in enumerate(report.models):
        counts = _bins([min(v, upper) for v in per_model[model.model]], upper)
        peak = max(counts, default=0) or 1
        parts = [
            f'<svg class="latency-chart" data-model="{escape(model.model)}" role="img" '
            f'aria-label="latency of {escape(model.model)}" width="{width}" height="{height + 46}" '
            'xmlns="http://www.w3.org/2000/svg">',
            f'<text x="{left}" y="12">{escape(model.model)}: p50 {seconds_label(model.latency_p50)}, '
            f"p90 {seconds_label(model.latency_p90)}, max {seconds_label(model.latency_max)}</text>",
        ]
        for b, count in enumerate(counts):
            h = count / peak * (height - 24)
            x = left + b * bar
            lo, hi = b * upper / BINS, (b + 1) * upper / BINS
            parts.append(
                f'<rect class="lat-bar" data-count="{count}" x="{x}" y="{height - h:.1f}" width="{bar - 2}" '
                f'height="{h:.1f}" fill="{_colour(i)}">'
                f"<title>{lo:.2f}-{hi:.2f} s: {count} cases</title></rect>"
            )
        parts.append(f'<line class="axis" x1="{left}" x2="{width - 20}" y1="{height}" y2="{height}"/>')
        for b in range(0, BINS + 1, 5):
            label = seconds_label(b * upper / BINS)
            parts.append(f'<text x="{left + b * bar}" y="{height + 16}" text-anchor="middle">{label}</text>')
        parts.append("</svg>")
        out.append("".join(parts))
    return "\n".join(out)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)


def _argument_line(key: str, value: Any) -> str:
    """One expected argument: its value, or its acceptable values and whether it may be left out."""
    if isinstance(value, dict) and "one_of" in value and set(value) <= {"one_of", "optional"}:
        options = value["one_of"]
        shown = _json(options[0]) if len(options) == 1 else f"one of {_json(options)}"
        return f"  {key}: {shown}" + (" (or left out)" if value.get("optional") else "")
    return f"  {key}: {_json(value)}"


def call_lines(calls: Any) -> list[str]:
    """Calls (expected or produced, in their JSON form) as lines: the tool's name, then one line per
    argument, sorted, so that a diff lines up argument by argument."""
    if not isinstance(calls, list):
        return [str(calls)]
    lines: list[str] = []
    for call in calls:
        if not isinstance(call, dict):
            lines.append(_json(call))
            continue
        lines.append(str(call.get("name")) + (f"  [{call['error']}]" if call.get("error") else ""))
        arguments = call.get("arguments")
        for key, value in sorted(arguments.items()) if isinstance(arguments, dict) else ():
            lines.append(_argument_line(key, value))
    return lines


def _same(value: Any, option: Any, inside: bool = False) -> bool:
    if isinstance(value, str) and isinstance(option, str):
        return normalize(value) == normalize(option)
    if isinstance(value, list) and isinstance(option, list):
        pairs = zip(value, option, strict=False)
        return len(value) == len(option) and all(_same(v, o, inside=True) for v, o in pairs)
    if inside and type(value) is not type(option):
        return False  # BFCL takes an integer for a number, but not inside a list
    return bool(value == option)


def _shown_as_given(expected: Any, got: Any) -> Any:
    """The expected calls, with each argument the produced call got right written as it was given, so
    that the diff marks only what differs (a display aid: the verdict comes from the scorer)."""
    if not isinstance(expected, list) or not isinstance(got, list):
        return expected
    out = []
    for index, call in enumerate(expected):
        given = got[index] if index < len(got) else None
        if not isinstance(call, dict) or not isinstance(given, dict) or given.get("name") != call.get("name"):
            out.append(call)
            continue
        arguments = dict(call.get("arguments") or {})
        for key, spec in arguments.items():
            value = (given.get("arguments") or {}).get(key, _MISSING)
            options = spec["one_of"] if isinstance(spec, dict) and "one_of" in spec else [spec]
            if value is not _MISSING and any(_same(value, option) for option in options):
                arguments[key] = value
        out.append({**call, "arguments": arguments})
    return out


_MISSING = object()


def diff_html(expected: Any, got: Any) -> str:
    """Expected and produced calls as a line diff: ``-`` only expected, ``+`` only produced."""
    lines = []
    for line in difflib.ndiff(call_lines(_shown_as_given(expected, got)), call_lines(got)):
        tag, text = line[:1], line[2:]
        if tag == "?":
            continue
        css = {"-": "del", "+": "ins"}.get(tag, "same")
        lines.append(f'<span class="{css}">{escape(tag)} {escape(text)}</span>')
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def _failure_row(result: CaseResult) -> str:
    got: Any = [c.to_json() for c in result.calls] if result.calls else "no call"
    if result.error is not None:
        got = f"model error: {result.error}"
    text = f'<div class="text">reply text: {escape(result.text[:300])}</div>' if result.text else ""
    return (
        f'<tr class="failure" data-model="{escape(result.model)}" data-category="{escape(result.category)}">'
        f"<td>{escape(result.model)}</td><td>{escape(result.category)}</td><td>{escape(result.case_id)}</td>"
        f'<td><div class="reason">{escape(result.reason)}</div>{text}</td>'
        f"<td>{diff_html(result.expected, got)}</td></tr>"
    )


def _summary(report: EvalReport) -> str:
    head = "".join(f"<th>{escape(m.model)}</th>" for m in report.models)
    rows = []
    for category in report.categories:
        cells = []
        for m in report.models:
            s = m.categories.get(category)
            cells.append(
                f'<td class="num">{100 * s.accuracy:.1f}% ({s.passed}/{s.total})</td>' if s else "<td>-</td>"
            )
        rows.append(f"<tr><td>{escape(category)}</td>{''.join(cells)}</tr>")

    def row(label: str, values: list[str]) -> str:
        return (
            f"<tr><th>{escape(label)}</th>"
            + "".join(f'<td class="num">{escape(v)}</td>' for v in values)
            + "</tr>"
        )

    models = report.models
    rows.append(row("all", [f"{100 * m.accuracy:.1f}% ({m.passed}/{m.total})" for m in models]))
    rows.append(row("model errors", [str(m.errors) for m in models]))
    rows.append(row("s per case (mean)", [f"{m.seconds_per_case:.2f}" for m in models]))
    rows.append(row("calls/s", [f"{m.calls_per_second:.2f}" if m.calls_per_second else "-" for m in models]))
    rows.append(row("tokens in/out", [f"{m.input_tokens:,}/{m.output_tokens:,}" for m in models]))
    rows.append(row("cost", [f"${m.cost:.4f}" if m.cost is not None else "not reported" for m in models]))
    return f'<table id="summary"><tr><th>category</th>{head}</tr>{"".join(rows)}</table>'


def _options(values: Sequence[str]) -> str:
    return "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)


def render_html(report: EvalReport) -> str:
    failures = report.failures()
    shown = failures[:MAX_FAILURES]
    cut = (
        f"<p>Only the first {MAX_FAILURES} of {len(failures)} failures are listed.</p>"
        if len(failures) > len(shown)
        else ""
    )
    problems = ""
    if report.problems:
        items = "".join(f"<li>{escape(str(p))}</li>" for p in report.problems)
        problems = (
            f'<h2>Cases that could not run ({len(report.problems)})</h2><ul class="problems">{items}</ul>'
        )
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # noqa: UP017 - explicit is clearer
    total = sum(m.total for m in report.models)
    categories = report.categories
    noun = "category" if len(categories) == 1 else "categories"
    meta = f"{len(report.models)} model(s), {len(categories)} {noun}, {total} case runs · {stamp}"
    model_options = _options([m.model for m in report.models])
    header = "<th>model</th><th>category</th><th>case</th><th>why</th><th>expected (-) vs got (+)</th>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(report.title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(report.title)}</h1>
<p class="meta">{meta}</p>
{_summary(report)}
<h2>Accuracy per category</h2>
{_legend(report.models)}
{accuracy_chart(report)}
<h2>Latency per model call</h2>
{latency_chart(report)}
<h2>Failures</h2>
<div class="controls">
<input id="filter-text" type="search" placeholder="filter: case id, reason, argument...">
<select id="filter-model"><option value="">all models</option>{model_options}</select>
<select id="filter-category"><option value="">all categories</option>{_options(categories)}</select>
</div>
<p id="failure-count">{len(shown)} failures</p>{cut}
<table id="failures"><thead><tr>{header}</tr></thead>
<tbody>{"".join(_failure_row(r) for r in shown)}</tbody></table>
{problems}
<script>{_SCRIPT}</script>
</body></html>
"""

"""The report's figures: accuracy per category, latency quantiles, throughput, tokens and cost, and how
the table and the per-case JSONL show them."""

from __future__ import annotations

import json
from pathlib import Path

from agentkit.eval import CaseResult, EvalReport
from agentkit.eval.report import model_report
from agentkit.eval.scoring import ProducedCall


def _result(case_id: str, category: str, passed: bool, seconds: float, **extra: object) -> CaseResult:
    return CaseResult(
        model="m", case_id=case_id, category=category, passed=passed, reason="ok" if passed else "wrong",
        calls=(ProducedCall("f", {"x": 1}),), seconds=seconds, input_tokens=100, output_tokens=10, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_model_figures_per_category_and_overall() -> None:
    results = [
        _result("a", "one", True, 1.0, cost=0.002),
        _result("b", "one", False, 3.0, cost=0.001),
        _result("c", "two", True, 2.0),
        CaseResult(
            "m", "d", "two", False, "model error: BackendError: down", error="BackendError: down", seconds=9.0
        ),
    ]
    report = model_report("m", results, ran=4, wall_seconds=8.0)
    assert (report.passed, report.total, report.errors) == (2, 4, 1)
    assert report.categories["one"].accuracy == 0.5 and report.categories["two"].accuracy == 0.5
    assert report.seconds_per_case == 2.0  # the failed call's 9 s is no model latency
    assert (report.latency_p50, report.latency_max) == (2.0, 3.0)
    assert report.calls_per_second == 0.5
    assert (report.input_tokens, report.output_tokens) == (300, 30)
    assert report.cost == 0.003
    assert (
        model_report("m", results[2:3]).cost is None
        and model_report("m", results[2:3]).calls_per_second is None
    )


def test_the_table_and_the_jsonl(tmp_path: Path) -> None:
    results = [_result("a", "one", True, 0.5), _result("b", "two", False, 1.5)]
    report = EvalReport([model_report("m", results, ran=2, wall_seconds=2.0)], results)
    table = report.table().splitlines()
    assert table[0].split() == ["category", "m"]
    assert "one" in table[2] and "100.0% (1/1)" in table[2]
    assert any(line.startswith("all") and "50.0% (1/2)" in line for line in table)
    assert any(line.startswith("calls/s") and "1.00" in line for line in table)
    assert any(line.startswith("cost") and "not reported" in line for line in table)
    rows = [json.loads(line) for line in report.write_jsonl(tmp_path / "c.jsonl").read_text().splitlines()]
    assert rows[1] == {
        "model": "m", "id": "b", "category": "two", "passed": False, "reason": "wrong",
        "calls": [{"name": "f", "arguments": {"x": 1}}], "expected": None, "text": None, "error": None,
        "seconds": 1.5, "input_tokens": 100, "output_tokens": 10, "cost": None,
    }  # fmt: skip
    assert CaseResult.from_json(rows[1]) == results[1]
    assert report.to_json()["models"][0]["categories"] == {
        "one": {"passed": 1, "total": 1},
        "two": {"passed": 0, "total": 1},
    }


def test_the_failure_diff_marks_only_the_arguments_that_differ() -> None:
    from agentkit.eval.html_report import diff_html

    expected = [
        {
            "name": "f",
            "arguments": {
                "city": {"one_of": ["New York", "NYC"]},
                "days": 3,
                "unit": {"one_of": ["c"], "optional": True},
            },
        }
    ]
    got = [{"name": "f", "arguments": {"city": "new-york", "days": 4, "extra": [1]}}]
    html = diff_html(expected, got)
    assert '<span class="same">  f</span>' in html
    assert '<span class="same">    city: &quot;new-york&quot;</span>' in html  # acceptable: shown as given
    assert '<span class="del">-   days: 3</span>' in html and '<span class="ins">+   days: 4</span>' in html
    assert '<span class="del">-   unit: &quot;c&quot; (or left out)</span>' in html
    assert '<span class="ins">+   extra: [1]</span>' in html
    assert "&lt;script&gt;" in diff_html("no_call", [{"name": "<script>", "arguments": {}}])  # escaped

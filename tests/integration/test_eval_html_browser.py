"""The HTML report in a real headless browser (Playwright, Debian's chromium): it loads with nothing
from the network, its charts render with the right bars, and the failure filter filters."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import ModelRequest, tool
from agentkit.eval import EvalReport, evaluate, parse_cases
from agentkit.eval.html_report import BINS
from agentkit.testing import ScriptedBackend, call

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@tool
def get_weather(city: str, unit: str = "celsius") -> str:
    """The weather in a city.

    Args:
        city: the city
        unit: celsius or fahrenheit
    """
    raise AssertionError("never run")


class Named(ScriptedBackend):
    def __init__(self, name: str, script: Any) -> None:
        super().__init__(script)
        self._label = name

    @property
    def name(self) -> str:
        return self._label


def _replies(wrong: set[str]) -> Any:
    def reply(request: ModelRequest) -> Any:
        text = str(request.messages[-1].content)
        city = text.removeprefix("Weather in ").removesuffix("?")
        if text.startswith("Hello"):
            return "Hi!" if "hello" not in wrong else call("get_weather", city="Nowhere")
        return call("get_weather", city="Atlantis" if city in wrong else city)

    return reply


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[EvalReport, Path]:
    cities = ["Paris", "Rome", "Oslo", "Lima", "Kyoto", "Cairo"]
    lines = [
        json.dumps(
            {
                "id": f"w-{city.lower()}",
                "category": "europe" if i < 3 else "world",
                "prompt": f"Weather in {city}?",
                "tools": ["get_weather"],
                "expect": [{"name": "get_weather", "arguments": {"city": city}}],
            }
        )
        for i, city in enumerate(cities)
    ]
    lines.append(
        json.dumps(
            {
                "id": "hello",
                "category": "chat",
                "prompt": "Hello there",
                "tools": ["get_weather"],
                "expect": "no_call",
            }
        )
    )
    out = tmp_path_factory.mktemp("eval-html")
    result = evaluate(
        parse_cases(lines, "cases.jsonl"),
        [Named("model-a", _replies({"Rome"})), Named("model-b <b>", _replies({"Oslo", "Lima", "hello"}))],
        tools=[get_weather],
        out_dir=out,
    )
    return result, out / "report.html"


@pytest.fixture(scope="module")
def page(report: tuple[EvalReport, Path]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make test` installs it (apt-get install -y chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        tab = browser.new_page()
        tab.requests = []  # type: ignore[attr-defined]
        tab.errors = []  # type: ignore[attr-defined]
        tab.on("request", lambda r: tab.requests.append(r.url))  # type: ignore[attr-defined]
        tab.on("pageerror", lambda e: tab.errors.append(str(e)))  # type: ignore[attr-defined]
        tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
        tab.goto(report[1].as_uri())
        yield tab
        browser.close()


def test_the_report_is_one_file_that_loads_nothing_else(page: Any, report: tuple[EvalReport, Path]) -> None:
    assert page.requests == [report[1].as_uri()]
    assert page.errors == []
    assert page.title() == "agentkit eval"
    assert "model-b <b>" in page.inner_text("#summary")  # escaped, shown as text


def test_the_accuracy_chart_draws_one_bar_per_model_and_category(
    page: Any, report: tuple[EvalReport, Path]
) -> None:
    result = report[0]
    bars = page.query_selector_all("#accuracy-chart rect.bar")
    groups = [*result.categories, "all"]
    assert len(bars) == len(groups) * 2
    heights: dict[tuple[str, str], float] = {}
    for bar in bars:
        model, category = bar.get_attribute("data-model"), bar.get_attribute("data-category")
        box = bar.bounding_box()
        heights[(model, category)] = box["height"] if box else 0.0
        expected = result.accuracy(model, None if category == "all" else category)
        assert float(bar.get_attribute("data-accuracy")) == pytest.approx(expected, abs=1e-4)
    assert heights[("model-a", "europe")] == pytest.approx(2 / 3 * heights[("model-a", "world")], rel=0.02)
    assert heights[("model-b <b>", "chat")] == 0.0 and heights[("model-a", "chat")] > 100  # 0% and 100%


def test_the_latency_chart_has_a_histogram_per_model_counting_every_case(
    page: Any, report: tuple[EvalReport, Path]
) -> None:
    charts = page.query_selector_all("svg.latency-chart")
    assert [c.get_attribute("data-model") for c in charts] == ["model-a", "model-b <b>"]
    for chart in charts:
        bars = chart.query_selector_all("rect.lat-bar")
        assert len(bars) == BINS
        assert sum(int(b.get_attribute("data-count")) for b in bars) == 7
        assert any((b.bounding_box() or {}).get("height", 0) > 0 for b in bars)


def _visible_cases(page: Any) -> list[str]:
    return [
        row.query_selector_all("td")[2].inner_text()
        for row in page.query_selector_all("tr.failure")
        if row.is_visible()
    ]


def test_the_failure_table_filters_by_text_model_and_category(page: Any) -> None:
    assert sorted(_visible_cases(page)) == ["hello", "w-lima", "w-oslo", "w-rome"]
    assert page.inner_text("#failure-count") == "4 of 4 failures shown"
    page.select_option("#filter-model", "model-b <b>")
    assert sorted(_visible_cases(page)) == ["hello", "w-lima", "w-oslo"]
    page.select_option("#filter-category", "world")
    assert _visible_cases(page) == ["w-lima"]
    page.select_option("#filter-model", "")
    page.select_option("#filter-category", "")
    page.fill("#filter-text", "Atlantis")  # matches the diff's "got" side
    assert sorted(_visible_cases(page)) == ["w-lima", "w-oslo", "w-rome"]
    assert page.inner_text("#failure-count") == "3 of 4 failures shown"
    page.fill("#filter-text", "")
    assert len(_visible_cases(page)) == 4


def test_a_failure_shows_expected_and_got_as_a_diff(page: Any) -> None:
    row = next(r for r in page.query_selector_all("tr.failure") if "w-rome" in r.inner_text())
    deleted = [e.inner_text() for e in row.query_selector_all(".diff .del")]
    inserted = [e.inner_text() for e in row.query_selector_all(".diff .ins")]
    assert any('"Rome"' in line for line in deleted) and any('"Atlantis"' in line for line in inserted)
    assert "argument city: expected one of ['Rome'], got 'Atlantis'" in row.inner_text()

"""How well does a model call *your* tools? Score it offline, on cases you write.

    python examples/eval_my_tools.py                      # the embedded local model (make eval)
    python examples/eval_my_tools.py openai:gpt-4o-mini   # any model string; several to compare

The tools below are offered to the model but never run: only the calls it asks for are scored, by
BFCL's rules (docs/eval.md). The cases are plain JSON lines, the format ``agentkit eval`` reads; the
report (a table here, plus ``cases.jsonl`` and a self-contained ``report.html``) lands in
``eval-results/eval_my_tools``. Rerunning resumes: only cases without a result are asked again.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Literal

from agentkit import Backend, tool
from agentkit.eval import EvalReport, evaluate, parse_cases

OUT = Path("eval-results") / "eval_my_tools"


@tool
def weather(city: str, day: date, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """The weather forecast for a city on a day.

    Args:
        city: the city name, e.g. "Lyon"
        day: the date, YYYY-MM-DD
        unit: the temperature unit
    """
    raise RuntimeError("an eval never runs the tools")


@tool
def convert_currency(amount: float, source: str, target: str) -> float:
    """Convert an amount of money between currencies.

    Args:
        amount: how much money
        source: the currency code to convert from, e.g. "EUR"
        target: the currency code to convert to, e.g. "USD"
    """
    raise RuntimeError("an eval never runs the tools")


CASES = """
{"id": "weather-lyon", "category": "weather", "prompt": "What will the weather be in Lyon on 2026-06-12?", "tools": ["weather", "convert_currency"], "expect": [{"name": "weather", "arguments": {"city": "Lyon", "day": "2026-06-12", "unit": {"one_of": ["celsius"], "optional": true}}}]}
{"id": "weather-fahrenheit", "category": "weather", "prompt": "Forecast for Boston on 2026-01-03, in fahrenheit please.", "tools": ["weather", "convert_currency"], "expect": [{"name": "weather", "arguments": {"city": "Boston", "day": "2026-01-03", "unit": "fahrenheit"}}]}
{"id": "money-eur-usd", "category": "money", "prompt": "Convert 250 EUR to USD.", "tools": ["weather", "convert_currency"], "expect": [{"name": "convert_currency", "arguments": {"amount": 250, "source": "EUR", "target": "USD"}}]}
{"id": "money-yen", "category": "money", "prompt": "How many Japanese yen is 19.99 US dollars?", "tools": ["weather", "convert_currency"], "expect": [{"name": "convert_currency", "arguments": {"amount": 19.99, "source": "USD", "target": {"one_of": ["JPY", "yen"]}}}]}
{"id": "chat-hello", "category": "no tool", "prompt": "Hello! Who are you?", "tools": ["weather", "convert_currency"], "expect": "no_call"}
{"id": "chat-poem", "category": "no tool", "prompt": "Write one line of poetry about the sea.", "tools": ["weather", "convert_currency"], "expect": "no_call"}
"""


def main(models: list[Backend | str] | None = None, out_dir: Path = OUT) -> EvalReport:
    cases = parse_cases(CASES.strip().splitlines(), "eval_my_tools.CASES")
    return evaluate(cases, models or ["local"], tools=[weather, convert_currency], out_dir=out_dir)


if __name__ == "__main__":
    report = main(sys.argv[1:] or None)
    print(report.table())
    print(f"\nreport: {OUT / 'report.html'}")

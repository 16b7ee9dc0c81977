"""How well does a model call *your* tools? Score it offline, on cases you write.

    python examples/eval_my_tools.py                      # the embedded local model (make eval)
    python examples/eval_my_tools.py openai:gpt-4o-mini   # any model string; several to compare

The tools below are offered to the model but never run: only the calls it asks for are scored, by
BFCL's rules (docs/eval.md). The cases are in ``eval_my_tools.jsonl``, in the format ``agentkit eval``
reads: ``agentkit eval examples/eval_my_tools.jsonl --tool examples/eval_my_tools.py`` runs the same. The
report (a table here, plus ``cases.jsonl`` and a self-contained ``report.html``) lands in
``eval-results/eval_my_tools``. Rerunning resumes: only cases without a result are asked again.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Literal

from agentkit import Backend, tool
from agentkit.eval import EvalReport, evaluate

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


CASES = Path(__file__).with_suffix(".jsonl")  # the cases, one JSON object a line


def main(models: list[Backend | str] | None = None, out_dir: Path = OUT) -> EvalReport:
    return evaluate(CASES, models or ["local"], tools=[weather, convert_currency], out_dir=out_dir)


if __name__ == "__main__":
    report = main(sys.argv[1:] or None)
    print(report.table())
    print(f"\nreport: {OUT / 'report.html'}")

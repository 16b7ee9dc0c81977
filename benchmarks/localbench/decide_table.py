"""The local model deciding for itself: BFCL simple_python, parallel and irrelevance, the forced path
against the default, side by side (issue 18).

``python -m benchmarks.localbench.decide_table [--configs forced,default] [--every K] [--threads N]
[--engine transformers|llama]``

- ``forced``: today's forced path, ``local`` with ``call_then_answer=True``, one call per reply, no
  decision step and free values (what ``local`` did before issue 18);
- ``default``: ``local`` as it is configured now.

``--engine`` runs ``local`` on transformers (the default) or on llama.cpp (``local@llama``); the two
share the decision path. Results of the llama engine go to ``eval-bfcl-decide/llama/``.

Each configuration runs through ``agentkit eval``'s Python API (cases asked with ``tool_choice="auto"``,
greedy, 256 tokens; BFCL's AST rules), keeping its results under
``benchmarks/results/eval-bfcl-decide/``: a rerun resumes where the last one stopped (``--fresh``
starts over). Prints accuracy per category, their mean, and seconds per case.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "results" / "eval-bfcl-decide"
CATEGORIES = ("simple_python", "parallel", "irrelevance")
CONFIGS: dict[str, dict[str, Any]] = {
    "forced": {
        "call_then_answer": True,
        "decide_calls": False,
        "parallel_calls": False,
        "values_from_request": False,
    },
    "default": {},
}


def backend(config: str, threads: int, engine: str = "transformers") -> Any:
    from agentkit.backends.local import local_backend

    suffix = "" if engine == "transformers" else f"@{engine}"
    return local_backend(engine=engine, threads=threads, name=f"local{suffix}-{config}", **CONFIGS[config])


def table(rows: dict[str, dict[str, tuple[int, int, float]]]) -> str:
    header = ["configuration", *CATEGORIES, "mean", "s/case"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for config, cells in rows.items():
        rates = []
        out = [config]
        seconds = cases = 0.0
        for category in CATEGORIES:
            passed, total, spent = cells.get(category, (0, 0, 0.0))
            rate = passed / total if total else 0.0
            rates.append(rate)
            seconds += spent
            cases += total
            out.append(f"{passed}/{total} ({100 * rate:.1f}%)")
        out.append(f"{100 * sum(rates) / len(rates):.1f}%")
        out.append(f"{seconds / cases:.2f}" if cases else "-")
        lines.append("| " + " | ".join(out) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", default="forced,default")
    parser.add_argument("--categories", default=",".join(CATEGORIES))
    parser.add_argument("--every", type=int, default=1, help="every K-th case of each category")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--engine", choices=("transformers", "llama"), default="transformers")
    parser.add_argument("--fresh", action="store_true", help="drop earlier results first")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    from agentkit.eval import evaluate
    from agentkit.eval.bfcl import load_bfcl

    out = args.out if args.engine == "transformers" else args.out / args.engine
    if args.fresh and out.exists():
        shutil.rmtree(out)
    cases = []
    for category in args.categories.split(","):
        cases.extend(load_bfcl(category)[:: args.every])
    rows: dict[str, dict[str, tuple[int, int, float]]] = {}
    for config in args.configs.split(","):
        model = backend(config, args.threads, args.engine)
        report = evaluate(cases, [model], out_dir=out / config, concurrency=1)
        cells: dict[str, tuple[int, int, float]] = {}
        for result in report.results:
            passed, total, spent = cells.get(result.category, (0, 0, 0.0))
            cells[result.category] = (passed + result.passed, total + 1, spent + result.seconds)
        rows[config] = cells
        print(table(rows), flush=True)
    print(f"\nper-case results: {out}/<configuration>/cases.jsonl")


if __name__ == "__main__":
    main()

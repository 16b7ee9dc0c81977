"""The fixed development sample for tuning the local model's tool calling (issue 18).

``python -m benchmarks.localbench.dev_sample --out FILE [--every 5] [--options JSON] [--engine E]``

Every ``--every``-th case of BFCL's simple_python, parallel and irrelevance (in BFCL's order, starting
with the first), asked the way ``agentkit eval`` asks them (``tool_choice="auto"``, greedy, 256 tokens),
on ``local`` built with ``--options`` (backend keyword arguments, e.g. ``{"call_then_answer": true}``)
on ``--engine`` (``transformers``, the default, or ``llama``: both decide the same way), scored by
agentkit eval's BFCL rules. Only these three categories are for development; BFCL's other categories
are kept for final checks. Prints accuracy per category and writes one JSON line per case
(calls, verdict, seconds, the backend's decision record) to ``--out``.

``--categories``: a comma-separated subset of the three (default: all); ``--only``: these case ids
alone (a change that acts only after a repeated call, say, reruns just the cases that repeated).

``--skip-answers``: when the backend decides to answer without a call, record that reply as no call
instead of decoding the answer text (which cannot change the score; it saves minutes per run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

CATEGORIES = ("simple_python", "parallel", "irrelevance")
ENGINES = ("transformers", "llama")


def sample(every: int, categories: tuple[str, ...] = CATEGORIES) -> list[Any]:
    """The prepared cases of the sample: every ``every``-th of each category."""
    from agentkit.eval.bfcl import load_bfcl
    from agentkit.eval.prepare import prepare

    cases = []
    for category in categories:
        cases.extend(load_bfcl(category)[::every])
    prepared, problems = prepare(cases, [])
    if problems:
        raise SystemExit(f"{len(problems)} BFCL cases cannot run: {problems[0]}")
    return prepared


def run(
    options: dict[str, Any],
    every: int,
    threads: int,
    skip_answers: bool,
    out: Path,
    categories: tuple[str, ...] = CATEGORIES,
    only: frozenset[str] | None = None,
    engine: str = "transformers",
) -> dict[str, Any]:
    from agentkit.backends.base import ModelResponse
    from agentkit.backends.local import local_backend
    from agentkit.eval.case_run import EvalSettings, build_request, judge, produced_calls
    from agentkit.messages import AssistantMessage

    backend = local_backend(engine=engine, threads=threads, **options)
    backend.ensure_loaded()  # load before timing
    settings = EvalSettings()
    totals: dict[str, list[int]] = {}
    seconds = 0.0
    with out.open("w") as sink:
        for prepared in sample(every, categories):
            if only is not None and prepared.case.id not in only:
                continue
            request = build_request(prepared, settings)
            started = time.perf_counter()
            if skip_answers and backend.decide(request) == "none":
                response = ModelResponse(message=AssistantMessage(content="(answer not decoded)"))
            else:
                response = backend.generate_sync(request)
            elapsed = time.perf_counter() - started
            seconds += elapsed
            calls = produced_calls(prepared, response)
            verdict = judge(prepared, calls)
            case = prepared.case
            totals.setdefault(case.category, [0, 0])
            totals[case.category][0] += verdict.passed
            totals[case.category][1] += 1
            row = {
                "id": case.id,
                "category": case.category,
                "passed": verdict.passed,
                "reason": verdict.reason,
                "calls": [c.to_json() for c in calls],
                "text": response.message.content,
                "decision": backend.last_decision,
                "call_loop": backend.last_calls,
                "seconds": round(elapsed, 3),
            }
            sink.write(json.dumps(row, default=str) + "\n")
            sink.flush()
    return {"options": options, "engine": engine, "every": every, "totals": totals, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--options", type=json.loads, default={}, help="local_backend keyword arguments")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--engine", choices=ENGINES, default="transformers")
    parser.add_argument("--skip-answers", action="store_true")
    parser.add_argument("--categories", default=",".join(CATEGORIES), help="comma-separated")
    parser.add_argument("--only", default=None, help="comma-separated case ids: these alone")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    categories = tuple(args.categories.split(","))
    only = frozenset(args.only.split(",")) if args.only else None
    summary = run(
        args.options, args.every, args.threads, args.skip_answers, args.out, categories, only, args.engine
    )
    cells = []
    rates = []
    for category in categories:
        passed, total = summary["totals"].get(category, [0, 0])
        rate = passed / total if total else 0.0
        rates.append(rate)
        cells.append(f"{category} {passed}/{total} ({100 * rate:.1f}%)")
    cases = sum(total for _, total in summary["totals"].values())
    print(" | ".join(cells) + f" | mean {100 * sum(rates) / len(rates):.1f}%")
    print(
        f"engine {args.engine}; options {json.dumps(args.options)}; "
        f"{summary['seconds'] / max(cases, 1):.2f} s a case"
    )


if __name__ == "__main__":
    main()

"""Our BFCL scorer against BFCL's official checker, on every case of every supported category.

Outputs per case: the embedded model's real reply (recorded once by
``tests/data/eval/record_bfcl_replies.py``, replayed here: no model runs), the ground truth, and
systematic perturbations of it (``bfcl_outputs.py``). Our verdicts come from ``agentkit.eval`` in this
process, the official ones from the checker of the installed ``bfcl-eval`` wheel, in ``.venv-bfcl``
(``make test`` creates it; the checker imports every hosted model's SDK, kept out of the project's
venv). Every verdict must agree.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from agentkit.eval.bfcl import CATEGORIES, load_bfcl, raw_rows
from agentkit.eval.prepare import prepare
from agentkit.eval.scoring import ProducedCall, score

from .bfcl_outputs import Output, ast_outputs, relevance_outputs

ROOT = Path(__file__).resolve().parents[2]
CHECKER_PYTHON = ROOT / ".venv-bfcl" / "bin" / "python"
CHECKER = Path(__file__).with_name("bfcl_official_checker.py")
REPLIES = ROOT / "tests" / "data" / "eval" / "bfcl_local_replies.jsonl.gz"

pytestmark = pytest.mark.slow


def _recorded() -> dict[str, Output]:
    replies: dict[str, Output] = {}
    with gzip.open(REPLIES, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            calls = row.get("calls", [])
            if any(error is not None for _, _, error in calls):
                replies[row["id"]] = None
            else:
                replies[row["id"]] = [{name: arguments} for name, arguments, _ in calls]
    return replies


def _ours(output: Output, fallback_name: str) -> tuple[ProducedCall, ...]:
    if output is None:
        return (ProducedCall(fallback_name, {}, "arguments are not valid JSON"),)
    return tuple(ProducedCall(name, arguments) for call in output for name, arguments in call.items())


def _official(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    if not CHECKER_PYTHON.exists():
        pytest.fail(
            f"BFCL's official checker is not installed: run `make .venv-bfcl/.installed` "
            f"({CHECKER_PYTHON} is missing)"
        )
    payload = "".join(json.dumps(item) + "\n" for item in items)
    done = subprocess.run(
        [str(CHECKER_PYTHON), str(CHECKER)], input=payload, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {row["key"]: row for row in map(json.loads, done.stdout.splitlines())}


@pytest.mark.timeout(1800)
def test_our_scorer_agrees_with_bfcls_official_checker_on_every_case() -> None:
    recorded = _recorded()
    items: list[dict[str, Any]] = []
    ours: list[bool] = []
    meta: list[tuple[str, str, str]] = []  # category, kind, case id
    cases_per_category: Counter[str] = Counter()
    replies_per_category: Counter[str] = Counter()
    missing_replies = []
    for category in CATEGORIES:
        prepared, problems = prepare(load_bfcl(category), [])
        assert not problems
        rows, answers = raw_rows(category)
        functions = {row["id"]: row["function"] for row in rows}
        for case in prepared:
            cases_per_category[category] += 1
            case_id = case.case.id
            outputs: list[tuple[str, Output]] = []
            if case_id in recorded:
                outputs.append(("real_reply", recorded[case_id]))
                replies_per_category[category] += 1
            else:
                missing_replies.append(case_id)
            if case.case.expect.kind == "calls":
                outputs += ast_outputs(answers[case_id])
            else:
                outputs += relevance_outputs(functions[case_id])
            fallback = functions[case_id][0]["name"] if functions[case_id] else "unknown_function"
            for kind, output in outputs:
                verdict = score(_ours(output, fallback), case.case.expect, case.signatures)
                items.append({"key": len(items), "category": category, "id": case_id, "output": output})
                ours.append(verdict.passed)
                meta.append((category, kind, case_id))
    official = _official(items)

    table: dict[str, Counter[str]] = defaultdict(Counter)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    disagreements = []
    crashes = []
    for key, (category, kind, case_id) in enumerate(meta):
        theirs = official[key]
        row = table[category]
        row["outputs"] += 1
        row["ours"] += ours[key]
        kinds[kind]["outputs"] += 1
        if "crash" in theirs:
            crashes.append((case_id, kind, theirs["crash"]))
            continue
        row["official"] += theirs["valid"]
        kinds[kind]["passed"] += theirs["valid"]
        if theirs["valid"] != ours[key]:
            row["disagree"] += 1
            disagreements.append((case_id, kind, items[key]["output"], ours[key], theirs["valid"]))

    lines = [
        "| category | cases | real replies | outputs | passed (ours) | passed (official) | disagreements |",
        "|---|---|---|---|---|---|---|",
    ]
    for category in CATEGORIES:
        row = table[category]
        lines.append(
            f"| {category} | {cases_per_category[category]} | {replies_per_category[category]} "
            f"| {row['outputs']} "
            f"| {row['ours']} | {row['official']} | {row['disagree']} |"
        )
    total = Counter[str]()
    for row in table.values():
        total.update(row)
    lines.append(
        f"| all | {sum(cases_per_category.values())} | {sum(replies_per_category.values())} "
        f"| {total['outputs']} "
        f"| {total['ours']} | {total['official']} | {total['disagree']} |"
    )
    print("\n" + "\n".join(lines))
    print(
        "outputs by kind (passed by the official checker / all): "
        + ", ".join(f"{kind} {c['passed']}/{c['outputs']}" for kind, c in kinds.items())
    )

    assert all(replies_per_category[c] >= min(10, cases_per_category[c]) for c in CATEGORIES), (
        f"too few recorded replies per category: {dict(replies_per_category)} "
        f"({len(missing_replies)} cases have none, e.g. {missing_replies[:3]})"
    )
    assert not crashes, f"the official checker crashed on {len(crashes)} outputs, e.g. {crashes[:3]}"
    assert not disagreements, f"{len(disagreements)} disagreements, e.g. {disagreements[:5]}"
    # Both verdicts occur in bulk: agreement on all-pass or all-fail outputs would prove nothing. And the
    # outputs are what they claim to be: the ground truth passes, the plain errors fail.
    assert 0.2 < total["official"] / total["outputs"] < 0.8
    assert kinds["truth"]["passed"] >= 0.99 * kinds["truth"]["outputs"]
    for kind in ("wrong_type", "extra_argument", "wrong_name", "duplicate_call", "dropped_call"):
        assert kinds[kind]["passed"] == 0, kind

"""examples/eval_my_tools.py (what `make eval` runs) on the embedded model: every case is asked for
real, scored with a reason, and the report's three outputs are written where the example says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_make_eval_scores_the_embedded_model_on_the_example_cases(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "eval_my_tools.py")],
        cwd=tmp_path,  # the report goes to ./eval-results/eval_my_tools
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    out_dir = tmp_path / "eval-results" / "eval_my_tools"
    assert done.stdout.rstrip().endswith(f"report: {Path('eval-results') / 'eval_my_tools' / 'report.html'}")
    for row in ("weather", "money", "no tool", "all", "model errors"):
        assert row in done.stdout, row
    results = [json.loads(line) for line in (out_dir / "cases.jsonl").read_text().splitlines()]
    cases = (ROOT / "examples" / "eval_my_tools.jsonl").read_text().splitlines()
    assert sorted(r["id"] for r in results) == sorted(json.loads(line)["id"] for line in cases)
    for result in results:
        assert result["model"] == "local" and result["error"] is None, result  # answered, not failed
        assert result["output_tokens"] > 0 and result["seconds"] > 0
        assert (result["reason"] == "ok") == result["passed"] and result["reason"], result
    html = (out_dir / "report.html").read_text()
    assert "<svg" in html
    assert all(r["id"] in html for r in results if not r["passed"])  # each failure is in the table

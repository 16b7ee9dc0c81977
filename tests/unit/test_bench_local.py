"""benchmarks/local.py's pieces that decide its figures: the unique-token count the prefill ratio is
taken against, the growth workload's pages, and the engines' BFCL comparison on the cases both ran.
(Its BFCL verdicts come from ``agentkit eval``, whose scorer is tested in tests/unit/test_eval_*.py.)"""

from __future__ import annotations

from typing import Any

from benchmarks.localbench import workload


def test_unique_tokens_counts_the_prefix_tree_of_all_prompts() -> None:
    assert workload.unique_tokens([[1, 2, 3], [1, 2, 3, 4, 5], [1, 2, 9]]) == 3 + 2 + 1
    assert workload.unique_tokens([[1], [2]]) == 2


def test_pages_are_deterministic_and_distinct() -> None:
    assert workload.page_text(3) == workload.page_text(3)
    assert workload.page_text(3) != workload.page_text(4)
    assert 140 <= len(workload.page_text(1).split()) <= 180  # about 200-230 SmolLM2 tokens


def test_bfcl_verdicts_on_a_sample_compare_the_same_cases() -> None:
    from benchmarks import local

    def case(i: int, passed: bool, seconds: float) -> dict[str, Any]:
        return {"id": f"c{i}", "passed": passed, "seconds": seconds, "calls": [{}]}  # agentkit eval's fields

    fast = [case(i, i % 2 == 0, 1.0) for i in range(8)]  # every case, 1 s each
    slow = [case(i, True, 5.0) for i in (0, 4)]  # every 4th case, 5 s each
    runs = {"llama": {"cases": fast, "wall_s": 8.5}, "transformers": {"cases": slow, "wall_s": 10.0}}
    ours, base, ours_s, base_s = local._common_cases(runs, "llama", "transformers")
    assert [c["id"] for c in ours] == [c["id"] for c in base] == ["c0", "c4"]
    assert (ours_s, base_s) == (2.0, 10.0)  # the sample's own seconds; the full run's wall for the sample

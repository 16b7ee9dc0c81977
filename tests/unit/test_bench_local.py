"""benchmarks/local.py's pieces that decide its figures: the unique-token count the prefill ratio is
taken against, and the growth workload's pages. (Its BFCL figures come from ``agentkit eval``, whose
scorer is tested in tests/unit/test_eval_*.py.)"""

from __future__ import annotations

from benchmarks.localbench import workload


def test_unique_tokens_counts_the_prefix_tree_of_all_prompts() -> None:
    assert workload.unique_tokens([[1, 2, 3], [1, 2, 3, 4, 5], [1, 2, 9]]) == 3 + 2 + 1
    assert workload.unique_tokens([[1], [2]]) == 2


def test_pages_are_deterministic_and_distinct() -> None:
    assert workload.page_text(3) == workload.page_text(3)
    assert workload.page_text(3) != workload.page_text(4)
    assert 140 <= len(workload.page_text(1).split()) <= 180  # about 200-230 SmolLM2 tokens

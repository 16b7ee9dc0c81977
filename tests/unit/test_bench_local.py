"""benchmarks/local.py's pieces that decide its figures: BFCL's scoring rules, the schema conversion
and the unique-token count the prefill ratio is taken against. No model and no bfcl-eval data here."""

from __future__ import annotations

from typing import Any

from benchmarks.localbench import bfcl, workload

FUNCTION: dict[str, Any] = {
    "name": "geo.area",
    "description": "Area of a shape.",
    "parameters": {
        "type": "dict",
        "properties": {
            "base": {"type": "float", "description": "base"},
            "unit": {"type": "string", "description": "unit"},
            "sides": {"type": "tuple", "items": {"type": "integer"}, "description": "sides"},
            "meta": {"type": "dict", "properties": {"tag": {"type": "string"}}, "description": "meta"},
            "anything": {"type": "any", "description": "whatever"},
        },
        "required": ["base"],
    },
}
CASE = bfcl.Case(
    "simple_python_x",
    [{"role": "user", "content": "area?"}],
    [FUNCTION],
    [{"geo.area": {"base": [10.0], "unit": ["square meters", ""], "sides": [[3, 4], ""], "meta": [""]}}],
)


def _verdict(arguments: dict[str, Any], name: str = "geo.area") -> bfcl.Verdict:
    return bfcl.score([{name: arguments}], CASE)


def test_schema_conversion_maps_python_type_names_to_json_schema() -> None:
    schema = bfcl.to_json_schema(FUNCTION["parameters"])
    assert schema["type"] == "object"
    props = schema["properties"]
    assert props["base"]["type"] == "number"
    assert props["sides"] == {"type": "array", "items": {"type": "integer"}, "description": "sides"}
    assert props["meta"]["type"] == "object"
    assert "type" not in props["anything"]
    assert schema["required"] == ["base"]


def test_tool_names_with_dots_round_trip() -> None:
    assert bfcl.safe_name("geo.area") == "geo_area"
    assert bfcl.original_name("geo_area", "geo.area") == "geo.area"
    assert bfcl.original_name("other", "geo.area") == "other"


def test_correct_calls_pass_with_bfcl_leniency() -> None:
    assert _verdict({"base": 10.0}).correct  # optional args with "" may be left out
    assert _verdict({"base": 10}).correct  # an integer is accepted for a float
    assert _verdict({"base": 10.0, "unit": "Square-Meters"}).correct  # case, spaces, "-" ignored
    assert _verdict({"base": 10.0, "sides": [3, 4]}).correct


def test_wrong_calls_fail_with_a_reason() -> None:
    wrong = [
        ({"base": 11.0}, "base"),
        ({"unit": "square meters"}, "missing required 'base'"),
        ({"base": 10.0, "unit": "feet"}, "unit"),
        ({"base": 10.0, "colour": "red"}, "unexpected argument 'colour'"),
        ({"base": "10"}, "type str"),
        ({"base": 10.0, "sides": [4, 3]}, "sides"),
    ]
    for arguments, reason in wrong:
        verdict = _verdict(arguments)
        assert not verdict.correct, arguments
        assert reason in verdict.reason
    assert "expected 'geo.area'" in _verdict({"base": 10.0}, name="geo_area").reason
    assert bfcl.score([], CASE).reason == "0 calls, expected 1"
    two = [{"geo.area": {"base": 10.0}}, {"geo.area": {"base": 10.0}}]
    assert not bfcl.score(two, CASE).correct


def test_a_required_answer_without_empty_option_must_be_given() -> None:
    case = bfcl.Case("c", [], [FUNCTION], [{"geo.area": {"base": [10.0], "unit": ["meters"]}}])
    assert bfcl.score([{"geo.area": {"base": 10.0}}], case).reason == "missing 'unit'"


def test_unique_tokens_counts_the_prefix_tree_of_all_prompts() -> None:
    assert workload.unique_tokens([[1, 2, 3], [1, 2, 3, 4, 5], [1, 2, 9]]) == 3 + 2 + 1
    assert workload.unique_tokens([[1], [2]]) == 2


def test_pages_are_deterministic_and_distinct() -> None:
    assert workload.page_text(3) == workload.page_text(3)
    assert workload.page_text(3) != workload.page_text(4)
    assert 140 <= len(workload.page_text(1).split()) <= 180  # about 200-230 SmolLM2 tokens


def test_bfcl_verdicts_on_a_sample_compare_the_same_cases() -> None:
    from benchmarks import local

    def case(i: int, correct: bool, seconds: float) -> dict[str, Any]:
        return {"id": f"c{i}", "correct": correct, "seconds": seconds, "one_valid_call": True, "calls": [{}]}

    fast = [case(i, i % 2 == 0, 1.0) for i in range(8)]  # every case, 1 s each
    slow = [case(i, True, 5.0) for i in (0, 4)]  # every 4th case, 5 s each
    runs = {"llama": {"cases": fast, "wall_s": 8.5}, "transformers": {"cases": slow, "wall_s": 10.0}}
    ours, base, ours_s, base_s = local._common_cases(runs, "llama", "transformers")
    assert [c["id"] for c in ours] == [c["id"] for c in base] == ["c0", "c4"]
    assert (ours_s, base_s) == (2.0, 10.0)  # the sample's own seconds; the full run's wall for the sample

"""BFCL's cases as eval cases: schema conversion, legal tool names, answers as expectations, and the
loader over the data the installed ``bfcl-eval`` ships."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import ConfigurationError
from agentkit.eval import load_bfcl
from agentkit.eval.bfcl import categories, expectation, safe_name, to_json_schema
from agentkit.eval.prepare import prepare
from agentkit.eval.run import task_id
from agentkit.eval.signature import Param, Signature

FUNCTION: dict[str, Any] = {
    "name": "geo.area",
    "description": "Area of a shape.",
    "parameters": {
        "type": "dict",
        "properties": {
            "base": {"type": "float", "description": "base"},
            "sides": {"type": "tuple", "items": {"type": "integer"}, "description": "sides"},
            "meta": {"type": "dict", "properties": {"tag": {"type": "string"}}, "description": "meta"},
            "anything": {"type": "any", "description": "whatever"},
        },
        "required": ["base"],
    },
}


def test_bfcl_types_become_json_schema_for_the_model() -> None:
    schema = to_json_schema(FUNCTION["parameters"])
    assert schema["type"] == "object" and schema["required"] == ["base"]
    props = schema["properties"]
    assert props["base"]["type"] == "number"
    assert props["sides"] == {"type": "array", "items": {"type": "integer"}, "description": "sides"}
    assert props["meta"]["type"] == "object"
    assert "type" not in props["anything"]


def test_the_scorer_reads_bfcls_own_types() -> None:
    signature = Signature.from_bfcl(FUNCTION)
    assert signature.params["base"] == Param("number")
    assert signature.params["sides"] == Param("array", "integer")
    assert signature.params["anything"] == Param("string")  # BFCL checks "any" as a string
    assert signature.required == ("base",)


def test_dotted_names_become_legal_tool_names() -> None:
    assert safe_name("geo.area") == "geo_area"
    assert safe_name("a b/c") == "a_b_c"


def test_answers_become_expectations() -> None:
    calls = expectation("simple_python", [{"geo.area": {"base": [10.0], "meta": [{"tag": ["x", ""]}, ""]}}])
    ((call),) = calls.calls
    assert call.name == "geo.area" and call.arguments["meta"].optional
    assert call.arguments["meta"].possible() == [{"tag": ["x", ""]}, ""]
    assert expectation("irrelevance", None).kind == "no_call"
    assert expectation("live_relevance", None).kind == "any_call"


def test_category_names_and_aliases() -> None:
    assert categories("simple") == ["simple_python"]
    assert categories("parallel, irrelevance") == ["parallel", "irrelevance"]
    assert len(categories("all")) == 11
    with pytest.raises(ConfigurationError, match="unknown BFCL category 'simple_java'"):
        categories("simple_java")


def test_the_loader_reads_the_installed_data_and_every_case_prepares() -> None:
    cases = load_bfcl("simple_python,irrelevance,live_relevance", limit=3)
    assert [c.id for c in cases][:3] == ["simple_python_0", "simple_python_1", "simple_python_2"]
    assert [c.category for c in cases] == ["simple_python"] * 3 + ["irrelevance"] * 3 + ["live_relevance"] * 3
    first = cases[1]
    assert first.names == {"math_factorial": "math.factorial"}
    assert first.expect.calls[0].name == "math.factorial"
    prepared, problems = prepare(cases, [])
    assert not problems and len(prepared) == 9
    assert prepared[1].specs[0].name == "math_factorial"
    assert prepared[1].expectation_name("math_factorial") == "math.factorial"


def test_a_cases_task_id_is_the_one_results_files_were_written_with() -> None:
    # Pinned from a results file written before tool specs became typed (ToolSpec): the digest of
    # the same request must not change, or every earlier eval run would be asked again on resume.
    prepared, _ = prepare(load_bfcl("simple_python", limit=1), [])
    assert task_id(prepared[0]) == "simple_python_0#ba89383b06"

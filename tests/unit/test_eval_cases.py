"""The eval case format: what a line may say, and how a wrong line is reported (line, field, fix)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentkit import AssistantMessage, ConfigurationError, SystemMessage, UserMessage
from agentkit.eval import DictPattern, ExpectedArgument, load_cases, parse_cases
from agentkit.eval.cases import CaseFormatError, case_to_json, parse_case

TOOL_SCHEMA = {
    "name": "get_weather",
    "description": "Weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _line(**fields: Any) -> str:
    row = {"id": "c1", "prompt": "Weather in Paris?", "tools": ["get_weather"], "expect": "no_call", **fields}
    return json.dumps({k: v for k, v in row.items() if v is not None})


def _problem(line: str) -> tuple[str, str]:
    loaded = parse_cases([line], "cases.jsonl")
    assert not loaded.cases and len(loaded.problems) == 1, loaded
    return loaded.problems[0].field, str(loaded.problems[0])


def test_a_full_case_reads_every_field() -> None:
    line = _line(
        expect=[
            {
                "name": "get_weather",
                "arguments": {
                    "city": "Paris",
                    "unit": {"one_of": ["celsius", "C"], "optional": True},
                    "when": {"day": "today", "hour": {"one_of": [9, 10]}},
                },
            }
        ],
        ordered=True,
        category="weather",
    )
    (case,) = parse_cases([line]).cases
    assert case.id == "c1" and case.category == "weather" and case.expect.ordered
    assert case.messages == (UserMessage(content="Weather in Paris?"),)
    (call,) = case.expect.calls
    assert call.arguments["city"] == ExpectedArgument(("Paris",))
    assert call.arguments["unit"] == ExpectedArgument(("celsius", "C"), optional=True)
    assert call.arguments["unit"].possible() == ["celsius", "C", ""]  # BFCL's form: "" marks optional
    (when,) = call.arguments["when"].values
    assert isinstance(when, DictPattern)
    assert call.arguments["when"].possible() == [{"day": ["today"], "hour": [9, 10]}]


def test_messages_tool_schemas_and_the_other_expectations() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    (case,) = parse_cases(
        [
            _line(
                prompt=None,
                messages=messages,
                tools=[TOOL_SCHEMA, {"type": "function", "function": TOOL_SCHEMA}],
                expect="any_call",
            )
        ]
    ).cases
    assert isinstance(case.messages[0], SystemMessage) and isinstance(case.messages[2], AssistantMessage)
    assert case.tools == (TOOL_SCHEMA, TOOL_SCHEMA)
    assert case.expect.kind == "any_call"


def test_each_malformed_field_is_named() -> None:
    assert _problem("{not json")[0] == ""
    assert _problem(_line(id=""))[0] == "id"
    assert _problem(_line(prompt=None))[0] == "prompt"  # neither prompt nor messages
    assert _problem(_line(messages=[{"role": "user", "content": "x"}]))[0] == "prompt"  # both
    assert _problem(_line(prompt=None, messages=[{"role": "robot", "content": "x"}]))[0] == "messages[0]"
    assert _problem(_line(tools="get_weather"))[0] == "tools"
    assert _problem(_line(tools=[{"description": "no name"}]))[0] == "tools[0]"
    assert _problem(_line(expect="nothing"))[0] == "expect"
    assert _problem(_line(expect=[{"name": "get_weather", "args": {}}]))[0] == "expect[0]"
    assert _problem(_line(expect=[{"name": "", "arguments": {}}]))[0] == "expect[0].name"
    bad_spec = [{"name": "f", "arguments": {"x": {"one_of": []}}}]
    assert _problem(_line(expect=bad_spec))[0] == "expect[0].arguments.x.one_of"
    bad_optional = [{"name": "f", "arguments": {"x": {"one_of": [1], "optional": "yes"}}}]
    assert _problem(_line(expect=bad_optional))[0] == "expect[0].arguments.x.optional"
    assert _problem(_line(ordered="yes"))[0] == "ordered"
    assert _problem(_line(colour="red"))[0] == "colour"
    field, text = _problem(_line(expect=[{"name": "f", "arguments": {"x": {"optional": True}}}]))
    assert field == "expect[0].arguments.x" and 'needs "one_of"' in text


def test_problems_carry_the_line_number_and_never_stop_loading(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(
        "\n".join([_line(id="a"), "", _line(id="b", expect=3), "oops", _line(id="a"), _line(id="c")]) + "\n"
    )
    loaded = load_cases(path)
    assert [c.id for c in loaded.cases] == ["a", "c"]
    assert [(p.line, p.field) for p in loaded.problems] == [(3, "expect"), (4, ""), (5, "id")]
    assert str(loaded.problems[2]).startswith(f"{path}:5: field 'id': duplicate id 'a' (first on line 1)")
    assert loaded.cases[0].category == "mine"  # the file's stem, when a case names no category
    assert loaded.cases[1].line == 6


def test_hostile_lines_are_problems_not_crashes() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    nested = json.loads("[" * 900 + "]" * 900)
    loaded = parse_cases([deep, _line(expect=[{"name": "f", "arguments": {"x": nested}}])])
    assert [p.message for p in loaded.problems][:1] == ["nested too deeply to read"]
    assert len(loaded.problems) + len(loaded.cases) == 2


def test_a_case_round_trips_through_its_json_form() -> None:
    line = _line(
        expect=[
            {
                "name": "f",
                "arguments": {"a": 1, "b": {"one_of": ["x", "y"], "optional": True}, "c": {"k": [1, 2]}},
            }
        ],
        category="cat",
    )
    (case,) = parse_cases([line]).cases
    (again,) = parse_cases([json.dumps(case_to_json(case))]).cases
    assert again.expect == case.expect and again.messages == case.messages and again.category == "cat"


def test_one_bad_case_from_python_is_a_configuration_error_naming_the_field() -> None:
    with pytest.raises(ConfigurationError, match="field 'expect'") as caught:
        parse_case({"id": "a", "prompt": "x", "tools": [], "expect": "nothing"})
    assert isinstance(caught.value, CaseFormatError) and isinstance(caught.value, ValueError)
    assert caught.value.field == "expect"

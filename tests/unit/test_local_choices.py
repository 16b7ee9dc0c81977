"""Named choices (:mod:`agentkit.backends.local.choices`): a string argument with a fixed set of values,
one of which the request names, must be written with a named value, also when it is optional, and a
later call moves on to a value named after."""

from __future__ import annotations

from typing import Any

from agentkit import ToolSpec
from agentkit.backends.local.choices import flag_named, listed_values, named_in
from agentkit.backends.local.constraints import build_grammar
from tests.grammar_matching import admits, call_text, one_call_grammar

RESISTANCE = ToolSpec(
    "resistance",
    "The resistance of a wire.",
    {
        "type": "object",
        "properties": {
            "length": {"type": "integer"},
            "material": {
                "type": "string",
                "description": "The wire's material (Default: 'copper'). "
                "Allowed values: 'copper', 'aluminum'",
            },
            "unit": {"type": "string", "enum": ["ohm", "kiloohm"]},
        },
        "required": ["length"],
    },
)


def _grammar(
    question: str, previous: list[tuple[str, dict[str, Any]]] | None = None, advance: bool = False
) -> str:
    return one_call_grammar(RESISTANCE, question, previous, advance)


def test_values_listed_in_a_description_or_an_enum_are_read() -> None:
    assert listed_values(RESISTANCE.parameters["properties"]["material"]) == ["copper", "aluminum"]
    assert listed_values(RESISTANCE.parameters["properties"]["unit"]) == ["ohm", "kiloohm"]
    assert listed_values({"type": "string", "description": "A city, 'Paris' say."}) == []
    assert named_in("Copper wire, in OHM", ["copper", "ohm", "kiloohm", "per"]) == ["copper", "ohm"]


def test_an_optional_argument_the_request_names_a_value_of_must_be_written_with_it() -> None:
    grammar = _grammar("Resistance of a 5 m copper wire in ohm.")
    assert admits(grammar, call_text("resistance", {"length": 5, "material": "copper", "unit": "ohm"}))
    assert not admits(grammar, call_text("resistance", {"length": 5}))  # left out
    assert not admits(grammar, call_text("resistance", {"length": 5, "material": "aluminum", "unit": "ohm"}))
    assert not admits(
        grammar, call_text("resistance", {"length": 5, "material": "copper", "unit": "kiloohm"})
    )
    # nothing named: the argument stays optional, its values as the schema lists them
    free = _grammar("Resistance of a 5 m wire.")
    assert admits(free, call_text("resistance", {"length": 5}))
    assert admits(free, call_text("resistance", {"length": 5, "unit": "kiloohm"}))


def test_a_later_call_moves_on_to_a_value_named_after() -> None:
    question = "Resistance of a 5 m copper wire in ohm and in kiloohm."
    first = ("resistance", {"length": 5, "material": "copper", "unit": "ohm"})
    grammar = _grammar(question, [first], advance=True)
    assert admits(grammar, call_text("resistance", {"length": 5, "material": "copper", "unit": "kiloohm"}))
    assert not admits(grammar, call_text("resistance", {"length": 5, "material": "copper", "unit": "ohm"}))
    # the material the request names stays: no other word of the request may move into it
    assert not admits(grammar, call_text("resistance", {"length": 5, "material": "wire", "unit": "ohm"}))


ROUTE = ToolSpec(
    "route",
    "Directions between two places.",
    {
        "type": "object",
        "properties": {
            "start": {"type": "string"},
            "end": {"type": "string"},
            "kind": {"type": "string", "enum": ["fastest", "shortest", "scenic"]},
        },
        "required": ["start", "end"],
    },
)
ROUTES = (
    "The fastest route from Oslo to Bergen, then a scenic route from Bergen to Molde, "
    "and finally the fastest route from Molde to Oslo."
)


def _route_grammar(previous: list[tuple[str, dict[str, Any]]], question: str = ROUTES) -> str:
    return one_call_grammar(ROUTE, question, previous)


def test_the_first_of_several_calls_takes_the_value_named_first() -> None:
    grammar = _route_grammar([])
    assert admits(grammar, call_text("route", {"start": "Oslo", "end": "Bergen", "kind": "fastest"}))
    assert not admits(grammar, call_text("route", {"start": "Oslo", "end": "Bergen", "kind": "scenic"}))
    # a request for one call keeps every value it names
    single = build_grammar(
        [ROUTE], tool_choice="required", calls=(1, 1), request_text="Oslo to Bergen: fastest or scenic?"
    )
    assert single is not None
    assert admits(single, call_text("route", {"start": "Oslo", "end": "Bergen", "kind": "scenic"}))


def test_a_listed_value_gives_way_to_the_next_one_named_when_a_word_beside_it_comes_again() -> None:
    first = ("route", {"start": "Oslo", "end": "Bergen", "kind": "fastest"})
    grammar = _route_grammar([first])
    assert admits(grammar, call_text("route", {"start": "Bergen", "end": "Molde", "kind": "scenic"}))
    assert not admits(grammar, call_text("route", {"start": "Bergen", "end": "Molde", "kind": "fastest"}))
    second = ("route", {"start": "Bergen", "end": "Molde", "kind": "scenic"})
    grammar = _route_grammar([first, second])
    assert admits(grammar, call_text("route", {"start": "Molde", "end": "Oslo", "kind": "fastest"}))
    # the next one named, not any named later
    question = ROUTES.replace("and finally the fastest", "then the shortest")
    grammar = _route_grammar([first], question)
    assert not admits(grammar, call_text("route", {"start": "Bergen", "end": "Molde", "kind": "shortest"}))
    # with no word beside it written again, a value named later is a choice, not a must
    question = "Resistance of a 5 m copper wire in ohm, and of a 7 m one in kiloohm."
    first = ("resistance", {"length": 5, "material": "copper", "unit": "ohm"})
    grammar = _grammar(question, [first])
    assert admits(grammar, call_text("resistance", {"length": 7, "material": "copper", "unit": "ohm"}))
    assert admits(grammar, call_text("resistance", {"length": 7, "material": "copper", "unit": "kiloohm"}))


def test_only_a_bounded_number_of_values_is_looked_for() -> None:
    values = [f"value{i}" for i in range(10_000)]
    assert named_in("value3 and value100", values) == ["value3"]  # value100 is past the bound
    assert len(listed_values({"enum": values})) == 64
    assert named_in("a " + "x" * 70, ["x" * 70]) == []  # too long to be named word for word


CASE = ToolSpec(
    "case_details",
    "Details of a law case.",
    {
        "type": "object",
        "properties": {
            "case_number": {"type": "string"},
            "include_history": {"type": "boolean"},
            "includeLitigants": {"type": "boolean"},
            "verbose": {"type": "boolean"},
        },
        "required": ["case_number"],
    },
)


def test_a_flag_the_request_writes_about_is_on_unless_negated() -> None:
    assert flag_named("include_history", "Case No 28473, with its history") is True  # "No" negates nothing
    assert flag_named("includeLitigants", "and the litigant") is True
    assert flag_named("include_human_impact", "if we do not include the impact of humans") is False
    assert flag_named("include_history", "the case alone") is None
    assert flag_named("include", "include everything") is None  # a name of generic words only
    question = "Case 28473: its history, but not the litigants."
    grammar = build_grammar([CASE], tool_choice="required", request_text=question)
    assert grammar is not None
    wanted = {"case_number": "28473", "include_history": True, "includeLitigants": False}
    assert admits(grammar, call_text("case_details", wanted))
    assert admits(grammar, call_text("case_details", {**wanted, "verbose": True}))  # not written about
    assert not admits(grammar, call_text("case_details", {**wanted, "include_history": False}))
    assert not admits(grammar, call_text("case_details", {**wanted, "includeLitigants": True}))
    assert not admits(grammar, call_text("case_details", {"case_number": "28473", "include_history": True}))

"""Each BFCL scoring rule, with the reason a person reads when it fails."""

from __future__ import annotations

import json
from typing import Any

from agentkit.eval import ProducedCall, parse_cases, score
from agentkit.eval.bfcl import argument as bfcl_argument
from agentkit.eval.signature import Param, Signature
from agentkit.eval.values import check_value, normalize

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string"},
        "days": {"type": "integer"},
        "ratio": {"type": "number"},
        "metric": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "sizes": {"type": "array", "items": {"type": "number"}},
        "where": {"type": "object"},
        "stops": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["city"],
}
SIGNATURES = {"get_weather": Signature.from_json_schema("get_weather", SCHEMA)}


def _expect(*calls: dict[str, Any], ordered: bool = False) -> Any:
    row = {"id": "x", "prompt": "?", "tools": ["get_weather"], "expect": list(calls), "ordered": ordered}
    return parse_cases([json.dumps(row)]).cases[0].expect


def _verdict(arguments: dict[str, Any], expected: dict[str, Any]) -> tuple[bool, str]:
    v = score(
        [ProducedCall("get_weather", arguments)],
        _expect({"name": "get_weather", "arguments": expected}),
        SIGNATURES,
    )
    return v.passed, v.reason


def test_the_reason_names_the_argument_what_was_expected_and_what_came() -> None:
    assert _verdict({"city": "Paris", "unit": "kelvin"}, {"city": "Paris", "unit": "celsius"}) == (
        False,
        "argument unit: expected one of ['celsius'], got 'kelvin'",
    )


def test_types_are_exact_except_an_integer_for_a_number() -> None:
    assert _verdict({"city": "P", "ratio": 2}, {"city": "P", "ratio": 2.0}) == (True, "ok")
    assert _verdict({"city": "P", "days": 3.0}, {"city": "P", "days": 3}) == (
        False,
        "argument days: expected integer, got number 3.0",
    )
    assert not _verdict({"city": "P", "days": True}, {"city": "P", "days": 1})[0]  # a boolean is no integer
    assert (
        _verdict({"city": "P", "days": "3"}, {"city": "P", "days": 3})[1]
        == "argument days: expected integer, got string '3'"
    )
    assert not _verdict({"city": "P", "metric": "true"}, {"city": "P", "metric": True})[0]


def test_strings_compare_normalized() -> None:
    assert normalize(" New-York, N.Y. ") == "newyorkny"
    assert _verdict({"city": "new york"}, {"city": "New-York"})[0]
    assert _verdict({"city": "Paris", "unit": "Celsius "}, {"city": "Paris", "unit": "celsius"})[0]
    assert _verdict({"city": "it's"}, {"city": 'it"s'})[0]  # quotes are one kind
    assert not _verdict({"city": "Parisx"}, {"city": "Paris"})[0]


def test_optional_arguments_may_be_left_out_or_given_empty_but_others_not() -> None:
    expected = {
        "city": "Paris",
        "unit": {"one_of": ["celsius"], "optional": True},
        "tags": {"one_of": [["a"]], "optional": True},
    }
    assert _verdict({"city": "Paris"}, expected)[0]
    assert _verdict({"city": "Paris", "unit": "", "tags": []}, expected)[0]  # empty = not given
    assert not _verdict({"city": "Paris", "unit": "kelvin"}, expected)[0]
    assert _verdict({"city": "Paris"}, {"city": "Paris", "unit": "celsius"}) == (
        False,
        "missing argument 'unit': expected one of ['celsius']",
    )
    assert _verdict({"unit": "celsius"}, {"city": "Paris", "unit": "celsius"}) == (
        False,
        "missing required argument 'city'",
    )


def test_arguments_neither_the_schema_nor_the_expectation_has_are_rejected() -> None:
    assert _verdict({"city": "P", "colour": "red"}, {"city": "P"}) == (
        False,
        "unexpected argument 'colour' (not in the tool's schema)",
    )
    assert _verdict({"city": "P", "days": 2}, {"city": "P"}) == (
        False,
        "unexpected argument 'days' (not in the expected call)",
    )


def test_lists_compare_in_order_with_string_items_normalized_and_typed_items() -> None:
    assert _verdict(
        {"city": "P", "tags": ["Sunny Day", "WIND"]}, {"city": "P", "tags": ["sunny-day", "wind"]}
    )[0]
    assert not _verdict({"city": "P", "tags": ["wind", "sunny"]}, {"city": "P", "tags": ["sunny", "wind"]})[0]
    assert not _verdict({"city": "P", "tags": ["sunny"]}, {"city": "P", "tags": ["sunny", "wind"]})[0]
    assert _verdict({"city": "P", "sizes": [1, 2]}, {"city": "P", "sizes": [1.0, 2.0]}) == (
        False,
        "argument sizes: expected a list of number, got [1, 2]",  # BFCL converts top-level integers only
    )
    assert _verdict({"city": "P", "sizes": [1.0, 2.5]}, {"city": "P", "sizes": [1.0, 2.5]})[0]


def test_objects_compare_key_by_key_with_optional_keys() -> None:
    expected = {
        "city": "P",
        "where": {"lat": {"one_of": [1.5, 1.50]}, "name": {"one_of": ["Home"], "optional": True}},
    }
    assert _verdict({"city": "P", "where": {"lat": 1.5, "name": "home"}}, expected)[0]
    assert _verdict({"city": "P", "where": {"lat": 1.5}}, expected)[0]
    assert _verdict({"city": "P", "where": {"lat": 1.5, "alt": 3}}, expected) == (
        False,
        "argument where: unexpected key 'alt'",
    )
    assert _verdict({"city": "P", "where": {"name": "Home"}}, expected) == (
        False,
        "argument where: missing key 'lat'",
    )


def test_lists_of_objects_match_position_by_position() -> None:
    expected = {"city": "P", "stops": [{"at": "Lyon"}, {"at": "Nice"}]}
    assert _verdict({"city": "P", "stops": [{"at": "lyon"}, {"at": "NICE"}]}, expected)[0]
    assert _verdict({"city": "P", "stops": [{"at": "Nice"}, {"at": "Lyon"}]}, expected) == (
        False,
        "argument stops: item 0: key 'at': expected one of ['Lyon'], got 'Nice'",
    )


def test_an_answer_of_another_type_than_declared_is_compared_exactly() -> None:
    # BFCL's "variable" answers: a string where the schema says integer is a value the caller holds.
    param = Param("integer")
    assert check_value("days", "n_days", param, ["n_days"]) is None
    assert check_value("days", "N_Days", param, ["n_days"]) is not None  # no normalization for those
    # The declared type passes the type check, then meets the same exact comparison.
    assert check_value("days", 3, param, ["n_days"]) == "argument days: expected one of ['n_days'], got 3"
    assert check_value("days", 3.5, param, ["n_days"]) == "argument days: expected integer, got number 3.5"


def test_parallel_calls_are_order_free_unless_ordered() -> None:
    paris = {"name": "get_weather", "arguments": {"city": "Paris"}}
    rome = {"name": "get_weather", "arguments": {"city": "Rome"}}
    produced = [ProducedCall("get_weather", {"city": "Rome"}), ProducedCall("get_weather", {"city": "paris"})]
    assert score(produced, _expect(paris, rome), SIGNATURES).passed
    ordered = score(produced, _expect(paris, rome, ordered=True), SIGNATURES)
    assert (ordered.passed, ordered.reason) == (
        False,
        "call 1: argument city: expected one of ['Paris'], got 'Rome'",
    )
    twice = score([produced[0], produced[0]], _expect(paris, rome), SIGNATURES)
    assert twice.reason == (
        "expected call 1 (get_weather) matches no call left: "
        "argument city: expected one of ['Paris'], got 'Rome'"
    )
    assert (
        score(produced[:1], _expect(paris, rome), SIGNATURES).reason
        == "1 calls (get_weather(city='Rome')); expected 2"
    )


def test_order_free_matching_is_greedy_as_bfcls_is() -> None:
    # The first expected call takes the first produced call it accepts, even when a later expected call
    # needed that one: BFCL scores this pair as wrong, and so do we.
    wide = {"name": "get_weather", "arguments": {"city": {"one_of": ["Paris", "Rome"]}}}
    narrow = {"name": "get_weather", "arguments": {"city": "Paris"}}
    produced = [ProducedCall("get_weather", {"city": "Paris"}), ProducedCall("get_weather", {"city": "Rome"})]
    assert not score(produced, _expect(wide, narrow), SIGNATURES).passed
    assert score(produced, _expect(narrow, wide), SIGNATURES).passed


def test_no_call_and_any_call() -> None:
    none = (
        parse_cases(['{"id": "n", "prompt": "hi", "tools": ["get_weather"], "expect": "no_call"}'])
        .cases[0]
        .expect
    )
    some = (
        parse_cases(['{"id": "s", "prompt": "hi", "tools": ["get_weather"], "expect": "any_call"}'])
        .cases[0]
        .expect
    )
    call = ProducedCall("get_weather", {"city": "Paris"})
    broken = ProducedCall("get_weather", {}, "arguments are not valid JSON")
    assert score([], none, SIGNATURES).passed
    assert score([call], none, SIGNATURES).reason == "called get_weather(city='Paris'); expected no tool call"
    assert score([broken], none, SIGNATURES).passed  # BFCL: a reply that does not decode holds no call
    assert score([call], some, SIGNATURES).passed
    assert score([], some, SIGNATURES).reason == "no tool call; expected one"
    assert not score([broken], some, SIGNATURES).passed


def test_call_level_failures_say_what_happened() -> None:
    expect = _expect({"name": "get_weather", "arguments": {"city": "Paris"}})
    assert score([], expect, SIGNATURES).reason == "no tool call; expected 1"
    assert (
        score([ProducedCall("get_time", {})], expect, SIGNATURES).reason
        == "called get_time, expected get_weather"
    )
    malformed = score([ProducedCall("get_weather", {}, "arguments are not valid JSON")], expect, SIGNATURES)
    assert malformed.reason == "the call to get_weather is not well-formed: arguments are not valid JSON"


def test_bfcl_answers_become_expected_arguments() -> None:
    assert bfcl_argument(["celsius", ""]).optional
    assert bfcl_argument(["celsius", ""]).possible() == ["celsius", ""]
    nested = bfcl_argument([{"lat": [1.5], "name": ["Home", ""]}])
    assert nested.possible() == [{"lat": [1.5], "name": ["Home", ""]}]

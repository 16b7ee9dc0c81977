"""How the local backend decides (no model loaded): the decision step's word overlap and log-odds, the
call-count bounds and question spans of the reply grammar, the tool-choice policy, and a property
test that every call the grammar admits is valid under its tool's schema."""

from __future__ import annotations

import random
import re
from typing import Any

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit import ToolSpec
from agentkit.backends import ModelRequest
from agentkit.backends.llamacpp import LlamaCppBackend
from agentkit.backends.local import InProcessBackend
from agentkit.backends.local.call_loop import decode_calls
from agentkit.backends.local.constraints import CALL_CLOSE, CALL_OPEN, build_grammar, start_tokens
from agentkit.backends.local.decision import (
    call_log_odds,
    content_words,
    decide,
    needs_model,
    overlap,
)
from agentkit.backends.local.request_values import documented_default, numbers_in
from agentkit.backends.local.spans import span_pattern
from agentkit.backends.transformers import ModelSource, TransformersBackend
from agentkit.errors import ConfigurationError
from agentkit.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from agentkit.parsing import parse_tool_calls
from tests.grammar_matching import admits as _complete
from tests.grammar_matching import admits_prefix as _prefix
from tests.grammar_matching import call_text as _call
from tests.grammar_matching import matcher

BMI = ToolSpec(
    "determine_body_mass_index",
    "Calculate body mass index given weight and height.",
    {
        "type": "object",
        "properties": {
            "weight": {"type": "number", "description": "Weight of the individual in kilograms."},
            "height": {"type": "number", "description": "Height of the individual in meters."},
        },
        "required": ["weight", "height"],
    },
)
WEATHER = ToolSpec(
    "get_weather",
    "Current weather in a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)


# -- spans -----------------------------------------------------------------------------------------


def test_span_pattern_matches_whole_word_spans_and_nothing_else() -> None:
    question = 'Play "Taylor Swift" and Maroon 5, for $30.45 on Spotify. Then x^2+1'
    pattern = span_pattern(question)
    assert pattern is not None and pattern.startswith("^(?:") and pattern.endswith(")$")
    inner = pattern[1:-1]
    for value in ["Taylor Swift", "Maroon 5", "Spotify", "$30.45", "30.45", "x^2+1", 'Play "Taylor Swift']:
        assert re.fullmatch(inner, value), value
    for value in ["Maroon 5,", "Spotify.", " Spotify", "Taylor Swi", "San Francisco, CA", "", "Swift and"]:
        assert not re.fullmatch(inner, value), value
    assert span_pattern("  ... ") is None


def test_span_pattern_stays_linear_in_the_text() -> None:
    short = span_pattern(" ".join(f"w{i}" for i in range(50)))
    long = span_pattern(" ".join(f"w{i}" for i in range(500)))
    assert short is not None and long is not None
    assert len(long) < 12 * len(short)  # ten times the words, about ten times the regex


def test_grammar_takes_string_values_from_the_request_where_the_schema_allows() -> None:
    question = "What is the weather in Oslo, Norway today?"
    grammar = build_grammar([WEATHER], tool_choice="required", request_text=question)
    assert grammar is not None
    assert _complete(grammar, _call("get_weather", {"city": "Oslo, Norway"}))
    assert _complete(grammar, _call("get_weather", {"city": "Oslo", "unit": "celsius"}))  # enum untouched
    assert not _prefix(grammar, CALL_OPEN + '{"name": "get_weather", "arguments": {"city": "San')
    free = build_grammar([WEATHER], tool_choice="required")
    assert free is not None and _complete(free, _call("get_weather", {"city": "San Francisco, CA"}))


def test_arrays_of_numbers_or_allowed_values_hold_no_more_items_than_the_request_offers() -> None:
    histogram = ToolSpec(
        "histogram",
        "",
        {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": {"type": "integer"}},
                "diets": {"type": "array", "items": {"type": "string", "enum": ["vegan", "halal"]}},
                "labels": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["data"],
        },
    )
    grammar = build_grammar([histogram], tool_choice="required", request_text="Histogram of 85, 90 and 91")
    assert grammar is not None
    assert _complete(grammar, _call("histogram", {"data": [85, 90, 91], "diets": ["vegan", "halal"]}))
    assert not _prefix(grammar, CALL_OPEN + '{"name": "histogram", "arguments": {"data": [85, 90, 91, 91')
    assert not _prefix(
        grammar,
        CALL_OPEN + '{"name": "histogram", "arguments": {"data": [85], "diets": ["vegan", "vegan", "v',
    )
    assert _complete(
        grammar, _call("histogram", {"data": [85], "labels": ["Histogram", "85", "90", "91", "85"]})
    )
    free = build_grammar([histogram], tool_choice="required")
    assert free is not None and _complete(free, _call("histogram", {"data": [91] * 6}))


# -- call counts -----------------------------------------------------------------------------------


def test_grammar_bounds_the_number_of_calls() -> None:
    one = _call("get_weather", {"city": "Oslo"})
    two = one + "\n" + _call("get_weather", {"city": "Rome"})
    three = two + "\n" + _call("get_weather", {"city": "Bonn"})
    bounded = build_grammar([WEATHER], tool_choice="required", calls=(1, 2))
    assert bounded is not None
    assert _complete(bounded, one) and _complete(bounded, two)
    assert not _prefix(bounded, two + "\n")  # a third call cannot start
    exactly_two = build_grammar([WEATHER], tool_choice="required", calls=(2, 2))
    assert exactly_two is not None
    assert not _complete(exactly_two, one) and _complete(exactly_two, two)
    unbounded = build_grammar([WEATHER], tool_choice="required", calls=(1, None))
    assert unbounded is not None and _complete(unbounded, three)
    single = build_grammar([WEATHER], tool_choice="required", parallel_calls=False)
    assert single is not None and not _prefix(single, one + "\n")
    with pytest.raises(ConfigurationError, match="least"):
        build_grammar([WEATHER], calls=(3, 2))


def test_two_calls_parse_from_one_reply() -> None:
    text = _call("get_weather", {"city": "Oslo"}) + "\n" + _call("get_weather", {"city": "Rome"})
    parsed = parse_tool_calls(text, formats=["hermes"], tool_names=["get_weather"])
    assert [c.arguments["city"] for c in parsed.tool_calls] == ["Oslo", "Rome"]
    assert len({c.id for c in parsed.tool_calls}) == 2


# -- the decision step -----------------------------------------------------------------------------


def test_content_words_drop_function_words_and_stem() -> None:
    assert content_words("Calculate the BodyMassIndex of the persons") == {"bodi", "mass", "index", "person"}
    assert content_words("multiplied") == content_words("multiply")  # stems, so word forms meet
    assert content_words("what is 42 of it") == set()


def test_overlap_counts_shared_content_words_with_the_best_tool() -> None:
    assert overlap("What is the body mass index of a man 80 kg and 1.8 m tall?", [WEATHER, BMI]) >= 3
    assert overlap("Calculate the area of a triangle with base 10", [WEATHER, BMI]) == 0
    assert overlap("Is it raining in Oslo? What weather?", [WEATHER]) >= 1
    assert overlap("anything", []) == 0


def test_call_log_odds_compare_the_two_masses() -> None:
    logprobs = np.log(np.array([0.01, 0.09, 0.3, 0.6]))
    call = np.array([True, False, False, False])
    answer = np.array([False, True, True, True])
    assert call_log_odds(logprobs, call, answer) == pytest.approx(np.log(0.01 / 0.99))
    assert call_log_odds(logprobs, np.zeros(4, dtype=bool), answer) == float("-inf")


def test_decide_needs_a_shared_word_and_enough_lean_towards_a_call() -> None:
    question = "What is the body mass index of someone 80 kg and 1.8 m tall?"
    assert decide(question, [BMI], -5.0, threshold=-7.5).choice == "required"
    assert decide(question, [BMI], -9.0, threshold=-7.5).choice == "none"
    unrelated = "Calculate the area of a triangle with base 10."
    assert not needs_model(unrelated, [BMI])
    made = decide(unrelated, [BMI], None)
    assert made.choice == "none" and made.overlap == 0
    assert made.to_json() == {"choice": "none", "overlap": 0, "call_log_odds": None}


def test_start_tokens_split_calls_from_answers() -> None:
    required = build_grammar([WEATHER], tool_choice="required")
    none = build_grammar([WEATHER], tool_choice="none")
    assert required is not None and none is not None
    call_mask = start_tokens(matcher(required), 300)
    answer_mask = start_tokens(matcher(none), 300)
    assert call_mask.shape == (300,) and call_mask[ord("<")] and call_mask.sum() == 1
    assert not answer_mask[ord("<")] and answer_mask[ord("H")] and not answer_mask[256:].any()


def _request(*messages: Any) -> ModelRequest:
    return ModelRequest(messages=messages, tools=[WEATHER])


def _on_transformers(**options: Any) -> InProcessBackend:
    return TransformersBackend(ModelSource("gguf", "unused.gguf"), **options)


def _on_llama(**options: Any) -> InProcessBackend:
    return LlamaCppBackend("unused.gguf", **options)


@pytest.mark.parametrize("make", [_on_transformers, _on_llama])
def test_decide_calls_policy_decides_first_then_answers_after_results(make: Any) -> None:
    backend = make(decide_calls=True)
    user = UserMessage(content="Weather in Oslo?")
    asked = AssistantMessage(tool_calls=[ToolCall(id="c1", name="get_weather", arguments={"city": "Oslo"})])
    assert backend.tool_choice(_request(user)) == "decide"
    ok = ToolMessage(tool_call_id="c1", name="get_weather", content="sunny")
    assert backend.tool_choice(_request(user, asked, ok)) == "none"
    failed = ToolMessage(tool_call_id="c1", name="get_weather", content="bad", is_error=True)
    assert backend.tool_choice(_request(user, asked, failed)) == "required"
    # no shared word: decided without the model (nothing is loaded here)
    assert backend.decide(_request(UserMessage(content="Tell me a joke about cats"))) == "none"
    assert backend.last_decision == {"choice": "none", "overlap": 0, "call_log_odds": None}
    forced = make(call_then_answer=True, decide_calls=True)
    assert forced.tool_choice(_request(user)) == "required"  # the explicit option wins
    with pytest.raises(ConfigurationError, match="max_calls"):
        make(max_calls=0)


# -- property: whatever the grammar lets through is a schema-valid call ------------------------------

_LEAVES = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "string", "enum": ["a", "b c"]},
        {"type": "integer", "enum": [1, 2, 3]},
        {"type": "array", "items": {"type": "integer"}},
        {"type": "array", "items": {"type": "string"}},
    ]
)


def _objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(["a", "b", "city", "n", "items", "x_y"])
    return st.dictionaries(names, children, max_size=4).flatmap(
        lambda props: st.sets(st.sampled_from(sorted(props)) if props else st.nothing()).map(
            lambda required: {"type": "object", "properties": props, "required": sorted(required)}
        )
    )


_SCHEMAS = _objects(st.recursive(_LEAVES, _objects, max_leaves=6))
_CLOSERS = [ord(c) for c in '"}]\n>'] + [256]


def _random_reply(grammar: str, rng: random.Random) -> str:
    """Decode under ``grammar`` with random byte choices, leaning towards closing what is open."""
    made = matcher(grammar)
    out = bytearray()
    for _ in range(5000):
        allowed = np.flatnonzero(start_tokens(made, 257))
        assert allowed.size, made.get_error()
        closing = [t for t in _CLOSERS if t in set(allowed.tolist())]
        token = rng.choice(closing) if closing and rng.random() < 0.6 else int(rng.choice(allowed.tolist()))
        if token == 256:
            break
        assert made.consume_token(token), made.get_error()
        out.append(token)
        if made.is_stopped():
            break
    else:
        raise AssertionError("the random walk did not finish")
    return out.decode("utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_SCHEMAS, seed=st.integers(0, 2**32 - 1), spans=st.booleans(), most=st.integers(1, 3))
def test_every_call_the_grammar_admits_is_valid_under_the_schema(
    schema: dict[str, Any], seed: int, spans: bool, most: int
) -> None:
    question = "Find 3 items in Oslo, Norway or b c"
    spec = ToolSpec("tool", "", schema)
    grammar = build_grammar(
        [spec], tool_choice="required", calls=(1, most), request_text=question if spans else None
    )
    assert grammar is not None
    reply = _random_reply(grammar, random.Random(seed))
    parsed = parse_tool_calls(reply, formats=["hermes"], tool_names=["tool"])
    assert 1 <= len(parsed.tool_calls) <= most, reply
    for call in parsed.tool_calls:
        assert call.arguments_error is None, reply
        jsonschema.validate(call.arguments, schema)
        if spans:
            for value in _free_strings(call.arguments, schema):
                assert value in question, (value, reply)


def _free_strings(value: Any, schema: dict[str, Any]) -> list[str]:
    """String values whose schema does not pin their form (the ones taken from the question)."""
    if schema.get("type") == "string" and "enum" not in schema:
        return [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return [s for k, v in value.items() for s in _free_strings(v, props.get(k, {}))]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [s for v in value for s in _free_strings(v, schema["items"])]
    return []


# -- numbers and later calls -------------------------------------------------------------------------


def test_numbers_in_the_request_with_thousands_signs_percents_and_words() -> None:
    found = [value for _, value in numbers_in("Pay $1,000 at 5% for two years, then -3, 1.5 and v2")]
    assert found == [1000.0, 0.05, 5.0, 2.0, -3.0, 1.5]  # "v2" is a name, not a number
    exponents = [value for _, value in numbers_in("Accelerates at 3.5 m/s^2 along 4x^3 + 2")]
    assert exponents == [3.5, 4.0, 2.0]  # the exponents are no values
    assert [value for _, value in numbers_in("Open until 22:00, or at 3:15")] == [22.0, 3.0, 15.0]  # no :00


def test_no_optional_number_is_written_when_the_request_writes_no_number() -> None:
    events = ToolSpec(
        "events",
        "",
        {
            "type": "object",
            "properties": {
                "president": {"type": "string"},
                "start_year": {"type": "integer", "default": 0},
                "limit": {"type": "integer"},
            },
            "required": ["president", "limit"],
        },
    )
    grammar = build_grammar(
        [events], tool_choice="required", request_text="Events of Abraham Lincoln's presidency"
    )
    assert grammar is not None
    assert _complete(grammar, _call("events", {"president": "Abraham Lincoln", "limit": 10}))
    assert not _complete(
        grammar, _call("events", {"president": "Abraham Lincoln", "start_year": 1861, "limit": 10})
    )
    written = build_grammar(
        [events], tool_choice="required", request_text="Abraham Lincoln's events from 1861"
    )
    assert written is not None
    assert _complete(
        written, _call("events", {"president": "Abraham Lincoln", "start_year": 1861, "limit": 1861})
    )


def test_grammar_takes_numbers_from_the_request_where_the_schema_allows() -> None:
    spec = ToolSpec(
        "factors",
        "",
        {
            "type": "object",
            "properties": {
                "number": {"type": "integer"},
                "ratio": {"type": "number"},
                "level": {"type": "integer", "minimum": 0, "maximum": 5},
                "tries": {"type": "integer", "enum": [7, 8]},
            },
            "required": ["number"],
        },
    )
    question = "Prime factors of 45 and 150, at a ratio of 2.5"
    grammar = build_grammar([spec], tool_choice="required", request_text=question)
    assert grammar is not None
    assert _complete(grammar, _call("factors", {"number": 150, "ratio": 2.5, "level": 2, "tries": 8}))
    assert not _complete(grammar, _call("factors", {"number": 15}))  # a prefix of 150 is no number of it
    assert not _complete(grammar, _call("factors", {"number": 2.5}))  # not an integer
    assert not _complete(grammar, _call("factors", {"number": 45, "level": 45}))  # out of its bounds
    free = build_grammar([spec], tool_choice="required", request_text="no numbers here")
    assert free is not None and _complete(free, _call("factors", {"number": 15}))


def test_a_later_call_moves_forward_through_the_request() -> None:
    spec = ToolSpec(
        "play",
        "",
        {
            "type": "object",
            "properties": {"artist": {"type": "string"}, "minutes": {"type": "integer"}},
            "required": ["artist", "minutes"],
        },
    )
    question = "Play Taylor Swift and Maroon 5 for 20 and 15 minutes"
    first = ("play", {"artist": "Taylor Swift", "minutes": 20})
    grammar = build_grammar(
        [spec], tool_choice="required", calls=(1, 1), request_text=question, previous_calls=[first]
    )
    assert grammar is not None
    assert _complete(grammar, _call("play", {"artist": "Maroon 5", "minutes": 15}))
    assert _complete(grammar, _call("play", {"artist": "Taylor Swift", "minutes": 15}))  # kept
    assert not _complete(grammar, _call("play", {"artist": "Play", "minutes": 15}))  # written before
    assert not _complete(grammar, _call("play", {"artist": "Maroon 5", "minutes": 5}))  # "5" precedes 20
    other = build_grammar([spec], tool_choice="required", calls=(1, 1), request_text=question)
    assert other is not None and _complete(other, _call("play", {"artist": "Play", "minutes": 5}))


class _Segment:
    def __init__(self, text: str) -> None:
        self.ids = [ord(c) for c in text]
        self.text = text
        self.finish_reason = "stop" if text.endswith(CALL_CLOSE) else "length"


def _loop(replies: list[str], stop_after: list[float], **options: Any) -> tuple[Any, list[Any]]:
    """decode_calls over scripted segments; ``stop_after[i]``: log-odds of ending after call i+1."""
    seen: list[Any] = []
    stops = iter(stop_after)

    def decode(ids: list[int], matcher: Any, budget: int) -> _Segment:
        seen.append(matcher)
        return _Segment(replies[len(seen) - 1])

    def next_logprobs(ids: list[int]) -> Any:
        stop = next(stops)
        logprobs = np.full(300, -50.0)
        logprobs[10], logprobs[256] = 0.0, stop  # the newline, the end token
        return logprobs

    def parse(text: str) -> tuple[str, dict[str, Any]] | None:
        calls = parse_tool_calls(text, formats=["hermes"], tool_names=["get_weather"]).tool_calls
        return (calls[0].name, dict(calls[0].arguments)) if len(calls) == 1 else None

    out = decode_calls(
        prompt=[1, 2, 3],
        decode=decode,
        next_logprobs=next_logprobs,
        matcher_for=lambda previous: list(previous),
        parse=parse,
        separator=[10],
        stop_ids=[256],
        max_new_tokens=10_000,
        **{"max_calls": 4, **options},
    )
    return out, seen


def test_calls_are_decoded_one_by_one_until_the_model_would_end() -> None:
    oslo, rome, bonn = (_call("get_weather", {"city": c}) for c in ("Oslo", "Rome", "Bonn"))
    out, seen = _loop([oslo, rome, bonn], [-3.0, 1.0])
    assert out.text == oslo + "\n" + rome and out.stop_log_odds == [-3.0, 1.0]
    assert seen == [[], [("get_weather", {"city": "Oslo"})]]  # each grammar knows the calls before it
    lower, _ = _loop([oslo, rome, bonn], [-3.0, 1.0], stop_threshold=-4.0)
    assert lower.text == oslo  # a lower threshold stops sooner
    capped, _ = _loop([oslo, rome, bonn], [-9.0, -9.0, -9.0], max_calls=2)
    assert capped.text == oslo + "\n" + rome


def test_a_repeated_call_ends_the_reply_and_is_dropped() -> None:
    oslo = _call("get_weather", {"city": "Oslo"})
    out, _ = _loop([oslo, oslo], [-5.0])
    assert out.text == oslo and out.dropped_repeat and out.finish_reason == "stop"
    cut, _ = _loop([oslo, oslo[:20]], [-5.0])  # the token limit cut the second call: it goes
    assert cut.finish_reason == "length" and cut.text == oslo and cut.ids == [ord(c) for c in oslo]


def test_a_number_may_also_be_the_default_its_description_documents() -> None:
    spec = ToolSpec(
        "fall",
        "",
        {
            "type": "object",
            "properties": {
                "height": {"type": "integer", "description": "Height in meters."},
                "gravity": {"type": "number", "description": "Gravity. Default value is 9.81 m/s^2."},
                "start": {"type": "integer", "description": "Initial velocity. Default is zero."},
            },
            "required": ["height"],
        },
    )
    question = "An object falls from a 150 meter building."
    grammar = build_grammar([spec], tool_choice="required", request_text=question)
    assert grammar is not None
    assert _complete(grammar, _call("fall", {"height": 150, "gravity": 9.81, "start": 0}))
    assert not _complete(grammar, _call("fall", {"height": 150, "gravity": 9.8}))  # neither written
    assert not _complete(grammar, _call("fall", {"height": 9.81}))  # another parameter's default
    said = ["In g/mile. Default factor is 355.48.", "Default: 10, at most 20", "Default is the current year"]
    assert [documented_default(text) for text in said] == [355.48, 10, None]


GCD = ToolSpec(
    "gcd",
    "",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)


def test_an_advancing_call_takes_a_number_written_after_those_used() -> None:
    question = "The gcd of 36 and 48, and also of 36 and 60"
    first = ("gcd", {"a": 36, "b": 48})
    grammar = build_grammar(
        [GCD],
        tool_choice="required",
        calls=(1, 1),
        request_text=question,
        previous_calls=[first],
        advance=True,
    )
    assert grammar is not None
    assert _complete(grammar, _call("gcd", {"a": 36, "b": 60}))
    assert not _complete(grammar, _call("gcd", {"a": 36, "b": 48}))  # the repeat
    assert not _complete(grammar, _call("gcd", {"a": 36, "b": 12}))  # not written at all
    used_up = build_grammar(
        [GCD],
        tool_choice="required",
        calls=(1, 1),
        request_text="The gcd of 36 and 48",
        previous_calls=[first],
        advance=True,
    )
    assert used_up is None  # nothing new to call with


def test_a_repeat_is_replaced_by_an_advancing_call_when_asked() -> None:
    oslo = _call("get_weather", {"city": "Oslo"})
    rome = _call("get_weather", {"city": "Rome"})
    out, seen = _loop([oslo, oslo, rome], [-5.0, 5.0], advance_for=lambda previous: "advance")
    assert out.text == oslo + "\n" + rome and out.advanced == 1 and not out.dropped_repeat
    assert seen[2] == "advance"
    ended, _ = _loop([oslo, oslo], [-5.0], advance_for=lambda previous: None)
    assert ended.text == oslo and ended.dropped_repeat  # nothing to advance to: the reply ends


def test_a_span_ends_before_a_list_joiner_unless_it_is_quoted() -> None:
    question = "Prices for Apple Inc., Google LLC., and Microsoft Corp. and the review 'fresh and tasty'"
    pattern = span_pattern(question)
    assert pattern is not None
    for value in ("Apple Inc", "Google LLC", "Microsoft Corp", "fresh and tasty", "Prices for Apple Inc"):
        assert re.fullmatch(pattern, value), value
    for value in ("Apple Inc., Google LLC., and Microsoft Corp", "Corp. and the review", "and the review"):
        assert not re.fullmatch(pattern, value), value
    # nor does a value start with a lowercase function word
    assert not re.fullmatch(pattern, "the review") and not re.fullmatch(pattern, "for Apple Inc")
    assert not re.fullmatch(pattern, "Apple Inc., Google LLC")  # a comma after an abbreviation
    assert re.fullmatch(span_pattern("Weather in Boston, MA") or "", "Boston, MA")  # a plain comma stays

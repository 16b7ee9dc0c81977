"""Broken JSON from a model, in tool-call arguments (``parse_arguments``) and final answers
(``OutputSpec.parse``): read by agentkit's one-pass lenient reader (``agentkit.parsing.read_lenient``),
so the sloppy JSON models write still works, and reading time stays linear in the reply.

json-repair, which both used before, took time quadratic in the input on shapes like ``[1], {``
repeated (15 s for 20 KB): the ratio tests below would take minutes on it and fail.
"""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel

from agentkit.errors import OutputValidationError
from agentkit.messages import MAX_REPAIR_CHARS, parse_arguments
from agentkit.output import OutputSpec
from benchmarks.parsing import cpu_seconds

# -- what is still repaired ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1, "b": 2,}', {"a": 1, "b": 2}),  # a trailing comma
        ("{'a': 'x', 'b': [1, 2,],}", {"a": "x", "b": [1, 2]}),  # single quotes, trailing commas
        ('{"a": [1, 2', {"a": [1, 2]}),  # unclosed brackets
        ('{"path": "/tmp/x', {"path": "/tmp/x"}),  # an unclosed string, cut by the token limit
        ('{city: "Paris", days: 3}', {"city": "Paris", "days": 3}),  # unquoted keys
        ('{"ok": True, "none": None}', {"ok": True, "none": None}),  # Python's words
        ('{"x": ' + "9" * 5000 + "}", {"x": "9" * 5000}),  # past json's 4,300 digits: kept as text
    ],
)
def test_broken_arguments_are_read_leniently(raw: str, expected: dict[str, object]) -> None:
    assert parse_arguments(raw) == (expected, None)


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("not json at all", "not valid JSON"),
        ("[1, 2", "not valid JSON"),  # a list, not an object
        ("[" * 300, "not valid JSON"),  # nested past MAX_ARGUMENT_DEPTH
        ('{"a":' * 500, "not valid JSON"),
        ('{"a": "' + "x" * MAX_REPAIR_CHARS, "not valid JSON"),  # too long to guess at its end
    ],
)
def test_arguments_beyond_repair_are_an_error_for_the_model(raw: str, said: str) -> None:
    arguments, error = parse_arguments(raw)
    assert arguments == {} and error is not None and said in error


def test_nan_and_lone_surrogates_survive_the_lenient_reading() -> None:
    arguments, error = parse_arguments('{"x": NaN, "y": "a\\ud800b",}')
    assert error is None and math.isnan(arguments["x"]) and arguments["y"] == "a\ud800b"


class City(BaseModel):
    name: str
    population: int


@pytest.mark.parametrize(
    "reply",
    [
        '{"name": "Oslo", "population": 7,}',
        "{'name': 'Oslo', 'population': 7}",
        '{"name": "Oslo", "population": 7',
        'Here it is: ```json\n{"name": "Oslo", "population": 7,}\n``` hope that helps',
        'Sure! {name: "Oslo", population: 7}',
    ],
)
def test_a_sloppy_final_answer_is_read_leniently(reply: str) -> None:
    assert OutputSpec(City).parse(reply) == City(name="Oslo", population=7)


def test_a_sloppy_list_answer_is_read_leniently() -> None:
    assert OutputSpec(list[int]).parse("[1, 2, 3,") == [1, 2, 3]


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("Oslo has 7 people", "not valid JSON"),  # plain text for a structured answer
        ("```json\n```", "not valid JSON"),
        ("[" * 5000, "nests deeper than"),  # json.loads: RecursionError
        ("{" * 5000, "nests deeper than"),  # the lenient reader's depth bound
        ('{"a":' * 3000, "nests deeper than"),
        ("null", "does not match the schema"),
    ],
)
def test_a_final_answer_beyond_repair_is_an_output_validation_error(reply: str, said: str) -> None:
    with pytest.raises(OutputValidationError, match=said):
        OutputSpec(City).parse(reply)


# -- linear time --------------------------------------------------------------------------------------

SMALL, BIG = 9_000, 90_000
LIMIT = 2 * BIG / SMALL
"""Linear time gives about 10; twice that for a busy machine. Quadratic time gives about 100."""


def json_repair_worst(size: int) -> str:
    """A shape json-repair's look-ahead is quadratic on (0.2 s for 4.5 KB, 0.75 s for 9 KB), shallow
    enough to be read rather than refused for its depth."""
    return '{"a": [' + "{[1]: 1}, " * (size // 10)


def deepening(size: int) -> str:
    """Brackets that open and never close (``[1], {`` repeated: 15 s for 20 KB in json-repair)."""
    return '{"a": [' + "[1], {" * (size // 6)


def _ratio(parse: object, small_text: str, big_text: str) -> tuple[float, float]:
    small = big = float("inf")
    for _ in range(4):  # a busy neighbour can slow one measurement
        small = min(small, cpu_seconds(parse, small_text, 0.2, 3, BIG // SMALL))  # type: ignore[arg-type]
        big = min(big, cpu_seconds(parse, big_text, 0.2, 3))  # type: ignore[arg-type]
        if big <= LIMIT * small:
            break
    return small, big


@pytest.mark.timeout(120)  # a net for a quadratic reader (minutes at 90 KB); the assertion is the ratio
@pytest.mark.parametrize(
    "which", ["arguments", "answer", "fenced answer"], ids=["arguments", "answer", "fenced-answer"]
)
def test_reading_broken_json_takes_time_linear_in_its_length(which: str) -> None:
    spec = OutputSpec(City)

    def answer(text: str) -> None:
        with pytest.raises(OutputValidationError):
            spec.parse(text)

    if which == "arguments":
        small_text, big_text = json_repair_worst(SMALL), json_repair_worst(BIG)
        parse = parse_arguments
    elif which == "answer":
        small_text, big_text = deepening(SMALL), deepening(BIG)
        parse = answer  # type: ignore[assignment]
    else:  # a fence that never closes, then spaces: the regex that looked for fences was quadratic here
        small_text, big_text = "```json" + " " * SMALL + "x", "```json" + " " * BIG + "x"
        parse = answer  # type: ignore[assignment]
    assert len(big_text) < MAX_REPAIR_CHARS  # the arguments are read, not refused for their length
    small, big = _ratio(parse, small_text, big_text)
    assert big <= LIMIT * small, (
        f"{which}: {big:.4f} s for {BIG} characters, {big / small:.1f} times {small:.5f} s"
    )

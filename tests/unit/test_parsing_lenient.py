"""The lenient JSON reader: the repairs docs/parsing.md promises, and no input that makes it raise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkit.parsing import read_lenient


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),  # trailing commas
        ("{'q': 'café', 'n': 'Bob\\'s'}", {"q": "café", "n": "Bob's"}),  # single quotes
        ("{city: Paris France, days: 3}", {"city": "Paris France", "days": 3}),  # unquoted keys, values
        ('{"a": 1 "b": 2}', {"a": 1, "b": 2}),  # a missing comma
        ('["x" "y", 3]', ["x", "y", 3]),
        ('{"a" 1, "b": }', {"a": 1, "b": ""}),  # a missing colon, a missing value
        ('{"a": True, "b": None, "c": false, "d": null}', {"a": True, "b": None, "c": False, "d": None}),
        ('{"a": 1, // the count\n "b": /* two */ 2}', {"a": 1, "b": 2}),  # comments
        ('{"code": "print("hi")", "n": 1}', {"code": 'print("hi")', "n": 1}),  # unescaped quotes
        ('{"s": "a", "t": "b"}', {"s": "a", "t": "b"}),
        ('{"name": "plot", "arguments": {"xs": [1, 2, 3', {"name": "plot", "arguments": {"xs": [1, 2, 3]}}),
        ('{"a": "cut off', {"a": "cut off"}),  # unclosed string
        ('{"a": [1, 2}', {"a": [1, 2]}),  # the wrong closer ends the inner list
        ('{"a": "x\\ny\\t\\u00e9\\ud83c\\udf89\\q"}', {"a": "x\ny\té🎉\\q"}),  # escapes, unknown kept
        ('{"n": 0644, "m": -2.5e3, "k": 1abc}', {"n": 644, "m": -2500.0, "k": "1abc"}),
        ("city=Paris", "city=Paris"),  # not JSON at all: a string, which callers refuse
        ("", ""),
    ],
)
def test_repairs(text: str, expected: Any) -> None:
    assert read_lenient(text) == expected


def test_integers_too_long_for_python_stay_text() -> None:
    assert read_lenient('{"n": ' + "9" * 5000 + "}") == {"n": "9" * 5000}


def test_nesting_over_the_limit_gives_none() -> None:
    assert read_lenient("[" * 101) is None
    assert read_lenient("[" * 100) is not None
    assert read_lenient('{"a": ' * 50 + "1", max_depth=49) is None
    assert read_lenient('{"a": ' * 49 + "1", max_depth=49) is not None


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_valid_json_reads_as_json(value: Any) -> None:
    assert read_lenient(json.dumps(value)) == value


FRAGMENTS = st.sampled_from(
    [*"{}[]\"':,\\/*\n ", "true", "None", "1", "-", "e", "\\u", "\\ud83c", "//", "/*", "*/", "x", "é"]
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAGMENTS, max_size=60).map("".join) | st.text(max_size=200))
def test_any_text_reads_without_raising(text: str) -> None:
    read_lenient(text)

"""Property tests: every format round-trips generated calls, and no input makes the parser crash."""

from __future__ import annotations

import json
import keyword
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentkit.errors import ConfigurationError
from agentkit.parsing import FORMATS, ParsedReply, parse_tool_calls
from benchmarks.parsing import SHAPES

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text inside generated values: anything printable except the characters that open tags or fences.
SAFE_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<[`\\"), max_size=20
)
IDENTIFIER = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True).filter(
    lambda s: not keyword.iskeyword(s)
)
SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
)
VALUE = st.recursive(
    SCALAR | SAFE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SAFE_TEXT, inner, max_size=3),
    max_leaves=8,
)
ARGUMENTS = st.dictionaries(IDENTIFIER, VALUE, max_size=4)


def _xml_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


RENDERERS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "hermes": lambda n, a: (
        f"<tool_call>\n{json.dumps({'name': n, 'arguments': a}, ensure_ascii=False)}\n</tool_call>"
    ),
    "qwen3_xml": lambda n, a: (
        f"<tool_call>\n<function={n}>\n"
        + "".join(f"<parameter={k}>\n{_xml_value(v)}\n</parameter>\n" for k, v in a.items())
        + "</function>\n</tool_call>"
    ),
    "mistral": lambda n, a: f"[TOOL_CALLS]{n}[ARGS]{json.dumps(a, ensure_ascii=False)}",
    "python_tag": lambda n, a: f"<|python_tag|>{json.dumps({'name': n, 'parameters': a})}<|eom_id|>",
    "react": lambda n, a: f"Thought: a tool helps.\nAction: {n}\nAction Input: {json.dumps(a)}\n",
    "llama3_json": lambda n, a: json.dumps({"name": n, "parameters": a}),
    "pythonic": lambda n, a: "[" + n + "(" + ", ".join(f"{k}={v!r}" for k, v in a.items()) + ")]",
    "json": lambda n, a: f"Calling it.\n```json\n{json.dumps({'name': n, 'arguments': a})}\n```",
}


def test_every_format_has_a_renderer() -> None:
    assert sorted(RENDERERS) == sorted(FORMATS)


def _xml_safe(arguments: dict[str, Any]) -> bool:
    """String values that decode as JSON ("1", "true") come back decoded, by design; skip those."""
    for value in arguments.values():
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError:
                continue
            return False
    return True


@SETTINGS
@given(fmt=st.sampled_from(FORMATS), name=IDENTIFIER, arguments=ARGUMENTS)
def test_every_format_round_trips_generated_calls(fmt: str, name: str, arguments: dict[str, Any]) -> None:
    if fmt == "qwen3_xml":
        assume(_xml_safe(arguments))
    reply = parse_tool_calls(RENDERERS[fmt](name, arguments))
    assert reply.format == fmt
    assert [(c.name, c.arguments, c.arguments_error) for c in reply.tool_calls] == [(name, arguments, None)]


def check_invariants(reply: ParsedReply) -> None:
    assert isinstance(reply, ParsedReply)
    assert reply.content is None or (reply.content and reply.content == reply.content.strip())
    assert reply.has_calls == bool(reply.tool_calls)
    assert (reply.format is None) == (not reply.tool_calls)
    assert reply.format is None or reply.format in FORMATS
    assert len({call.id for call in reply.tool_calls}) == len(reply.tool_calls)
    for call in reply.tool_calls:
        assert isinstance(call.name, str) and isinstance(call.arguments, dict)
        assert call.id.startswith("call_")
        if call.arguments_error is not None:
            assert call.arguments == {}


def parse_safely(text: str, **kwargs: Any) -> ParsedReply:
    """The contract: a ParsedReply for any text; any exception fails the test."""
    reply = parse_tool_calls(text, **kwargs)
    check_invariants(reply)
    return reply


@SETTINGS
@given(text=st.text(max_size=300), names=st.none() | st.frozensets(IDENTIFIER, max_size=3))
def test_arbitrary_text_never_raises(text: str, names: frozenset[str] | None) -> None:
    parse_safely(text, tool_names=names)


MARKERS = [
    "<tool_call>", "</tool_call>", "<function=f>", "</function>", "<parameter=x>", "</parameter>",
    "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "<|python_tag|>", "<|eom_id|>", "<|python_start|>",
    "Action:", "Action Input:", "Observation:", "\n", "```json\n", "```", "{", "}", "[", "]", "(", ")",
    '"name"', '"arguments"', '"parameters"', ":", ",", ";", "=", "'", '"', "f", "x", "1", "true",
    "null", ".call(", "\\", " ", "é", "🎉",
]  # fmt: skip


@SETTINGS
@given(pieces=st.lists(st.sampled_from(MARKERS) | st.text(max_size=5), max_size=40))
def test_soups_of_format_markers_never_raise(pieces: list[str]) -> None:
    parse_safely("".join(pieces))


@SETTINGS
@given(
    fmt=st.sampled_from(FORMATS),
    name=IDENTIFIER,
    arguments=ARGUMENTS,
    data=st.data(),
)
def test_mutated_valid_calls_never_raise(
    fmt: str, name: str, arguments: dict[str, Any], data: st.DataObject
) -> None:
    text = RENDERERS[fmt](name, arguments)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        i = data.draw(st.integers(0, len(text)), label="at")
        j = data.draw(st.integers(i, min(len(text), i + 8)), label="to")
        action = data.draw(st.sampled_from(["delete", "insert", "duplicate", "truncate"]), label="action")
        if action == "delete":
            text = text[:i] + text[j:]
        elif action == "insert":
            text = (
                text[:i] + data.draw(st.sampled_from(MARKERS) | st.text(max_size=3), label="text") + text[i:]
            )
        elif action == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i]
    reply = parse_safely(text, tool_names=data.draw(st.none() | st.just({name}), label="tool_names"))
    if reply.format in ("hermes", "qwen3_xml", "mistral", "python_tag"):
        assert reply.tool_calls  # a tagged format always yields its calls


@pytest.mark.parametrize("shape", list(SHAPES))
def test_adversarial_shapes_give_only_documented_outcomes(shape: str) -> None:
    for size in (0, 1, 9, 300, 5_000):
        text = SHAPES[shape](size)
        parse_safely(text)
        parse_safely(text, tool_names={"f", "add"})


@SETTINGS
@given(
    pieces=st.lists(st.tuples(st.sampled_from(list(SHAPES)), st.integers(0, 400)), min_size=1, max_size=6),
    names=st.none() | st.just(frozenset({"f"})),
)
def test_spliced_adversarial_shapes_never_raise(
    pieces: list[tuple[str, int]], names: frozenset[str] | None
) -> None:
    parse_safely("".join(SHAPES[shape](size) for shape, size in pieces), tool_names=names)


@given(formats=st.lists(st.text(max_size=12), min_size=1, max_size=3))
@SETTINGS
def test_only_unknown_format_names_raise_and_only_configuration_error(formats: list[str]) -> None:
    try:
        reply = parse_tool_calls('<tool_call>{"name": "f", "arguments": {}}</tool_call>', formats=formats)
    except ConfigurationError as exc:
        assert any(f not in FORMATS for f in formats)
        assert "unknown tool-call format" in str(exc)
    else:
        assert all(f in FORMATS for f in formats)
        check_invariants(reply)

"""The linear scanners find exactly what the regular expressions they replaced found.

Each former expression is kept here as an oracle: correct, but quadratic or cubic on long runs of
spaces or repeated tags, so it is only run on short generated texts made of the characters that matter.
"""

from __future__ import annotations

import ast
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentkit.parsing._core import balanced_end, strip_fence
from agentkit.parsing._pythonic import SourceSegments, parse_expression
from agentkit.parsing._tagged import (
    _FUNCTION_BODY_END_RE,
    _PARAMETER_VALUE_END_RE,
    _react_blocks,
    _xml_tags,
    parse_qwen3_xml,
)
from agentkit.parsing._untagged import _FENCE_RE, _PY_TAIL_RE

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def soup(*pieces: str, max_size: int = 30) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces), max_size=max_size).map("".join)


OLD_FENCE_RE = re.compile(r"^\s*```[\w+-]*[ \t]*\n?(?P<body>.*?)\n?[ \t]*(?:```\s*)?$", re.DOTALL)


@SETTINGS
@given(soup("```", "`", "json", "py-3", " ", "\t", "\n", "\r", "\x0b", "x", "é", "\n```", "``` "))
def test_strip_fence_matches_the_former_regex(text: str) -> None:
    match = OLD_FENCE_RE.match(text)
    assert strip_fence(text) == (match.group("body") if match else text)


OLD_REACT_RE = re.compile(
    r"^[ \t]*Action[ \t]*:[ \t]*(?P<name>[^\n]*?)[ \t]*\n(?:[ \t]*\n)*"
    r"[ \t]*Action[ \t]*Input[ \t]*:[ \t]*(?P<input>.*?)"
    r"(?=^[ \t]*(?:Thought|Action|Observation|Final[ \t]+Answer)[ \t]*:|\Z)",
    re.DOTALL | re.MULTILINE,
)
REACT_PIECES = (
    "Action", "Action:", "Action Input:", "Input", ":", "Thought:", "Observation:", "Final Answer:",
    "Final\t Answer :", " ", "\t", "\n", "\r", "f", "{}", "x y",
)  # fmt: skip


REACT_LINE = st.tuples(
    st.sampled_from(["", " ", "\t", " \t "]),
    st.sampled_from(
        [
            "Action:",
            "Action :",
            "Action\tInput:",
            "Action Input :",
            "Thought:",
            "Observation:",
            "Final Answer:",
            "Final  Answer:",
            "",
            "x",
            "Action",
            "Input:",
        ]
    ),
    st.sampled_from(["", " ", "\t", " f", " f ", "f\t", " f\r", "\r", "\x0b", " {}", " a b "]),
).map("".join)


@SETTINGS
@given(st.one_of(soup(*REACT_PIECES, max_size=40), st.lists(REACT_LINE, max_size=12).map("\n".join)))
@example("Action: f \n \n\t\nAction Input: {}\n\nThought: x\n Action :g\n\n\nAction\tInput:1\nAction")
def test_react_blocks_match_the_former_regex(text: str) -> None:
    expected = [(m.start(), m.end(), m.group("name"), m.group("input")) for m in OLD_REACT_RE.finditer(text)]
    assert _react_blocks(text) == expected


OLD_FUNCTION_RE = re.compile(
    r"(?:<tool_call>\s*)?<function=(?P<name>[^>\n]*)>(?P<body>.*?)"
    r"(?:</function>|(?=<function=|<tool_call>|</tool_call>)|\Z)(?:\s*</tool_call>)?",
    re.DOTALL,
)
OLD_PARAMETER_RE = re.compile(
    r"<parameter=(?P<name>[^>\n]*)>(?P<value>.*?)(?:</parameter>|(?=<parameter=|</function>)|\Z)", re.DOTALL
)
XML_PIECES = (
    "<tool_call>", "</tool_call>", "<function=", "</function>", "<parameter=", "</parameter>", ">", "<",
    "\n", " ", "f", "x", "1",
)  # fmt: skip


@SETTINGS
@given(soup(*XML_PIECES, max_size=40))
def test_qwen3_xml_spans_and_parameters_match_the_former_regexes(text: str) -> None:
    groups = parse_qwen3_xml(text)
    old = list(OLD_FUNCTION_RE.finditer(text))
    assert [(g.start, g.end) for g in groups] == [m.span() for m in old]
    for group, match in zip(groups, old, strict=True):
        (call,) = group.calls
        assert call.name == match.group("name").strip()
        parameters = OLD_PARAMETER_RE.finditer(match.group("body"))
        assert list(call.arguments) == list(dict.fromkeys(p.group("name").strip() for p in parameters))


@SETTINGS
@given(soup(*XML_PIECES, max_size=40))
def test_xml_tag_bodies_match_the_former_regexes(text: str) -> None:
    functions = _xml_tags(text, "<function=", _FUNCTION_BODY_END_RE)
    assert [(name, text[b:e]) for _, name, b, e in functions] == [
        (m.group("name"), m.group("body")) for m in OLD_FUNCTION_RE.finditer(text)
    ]
    parameters = _xml_tags(text, "<parameter=", _PARAMETER_VALUE_END_RE)
    assert [(s, name, text[b:e]) for s, name, b, e in parameters] == [
        (m.start(), m.group("name"), m.group("value")) for m in OLD_PARAMETER_RE.finditer(text)
    ]


OLD_PY_TAIL_RE = re.compile(r"[ \t]*(?:<\|python_end\|>|\n?[ \t]*```)?[ \t]*(?:\n|\Z)")


@SETTINGS
@given(soup(" ", "\t", "\n", "```", "<|python_end|>", "x", max_size=12))
def test_pythonic_tail_matches_the_former_regex(text: str) -> None:
    old = OLD_PY_TAIL_RE.match(text)
    new = _PY_TAIL_RE.match(text)
    assert (old and old.end()) == (new and new.end())


OLD_JSON_FENCE_RE = re.compile(
    r"```[ \t]*(?:json|JSON|tool_call|tool_calls)?[ \t]*\n(?P<body>.*?)(?:```|\Z)", re.DOTALL
)


@SETTINGS
@given(soup("```", "json", "tool_call", "tool_calls", "s", " ", "\t", "\n", "{}", max_size=20))
def test_json_fences_match_the_former_regex(text: str) -> None:
    assert [(m.span(), m.group("body")) for m in _FENCE_RE.finditer(text)] == [
        (m.span(), m.group("body")) for m in OLD_JSON_FENCE_RE.finditer(text)
    ]


def old_balanced_end(text: str, start: int, stop: int) -> int:
    depth = 0
    quote: str | None = None
    i = start
    while i < stop:
        ch = text[i]
        if quote is not None:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return stop


@SETTINGS
@given(text=soup("{", "}", "[", "]", '"', "'", "\\", "x", " ", max_size=30), data=st.data())
def test_balanced_end_matches_the_former_loop(text: str, data: st.DataObject) -> None:
    text = "{" + text
    stop = data.draw(st.integers(1, len(text)))
    assert balanced_end(text, 0, stop) == old_balanced_end(text, 0, stop)


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            ['f(a="é", b=1)', "g(x=[1,\n 2])", "h('ü\\n')", "k(\r\nz=2)", "m()", 'n(s="""a\nb""")']
        ),
        min_size=1,
        max_size=5,
    )
)
def test_call_source_segments_match_ast_get_source_segment(calls: list[str]) -> None:
    source = "[" + ",\n ".join(calls) + "]"
    expr = parse_expression(source)
    assert isinstance(expr, ast.List)
    segments = SourceSegments(source)
    for node in expr.elts:
        assert segments.of(node) == ast.get_source_segment(source, node)

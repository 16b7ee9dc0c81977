"""Parsers for the tagged formats: the model marked its calls explicitly, so every marked span is a call.

A marked span whose content cannot be read still yields a :class:`ToolCall` (with ``arguments_error``
and ``raw_arguments``), so the model is told exactly what went wrong instead of its call vanishing.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from agentkit.messages import ToolCall
from agentkit.parsing._core import (
    Group,
    arguments_of,
    broken_call,
    call_from_object,
    decode_at,
    strip_fence,
)
from agentkit.parsing._pythonic import call_from_node, parse_expression, pythonic_calls


def json_calls(text: str, start: int, stop: int, what: str) -> tuple[list[ToolCall], int]:
    """Calls from a run of JSON objects/lists in ``text[start:stop]`` separated by ``;``, ``,`` or space.

    Returns the calls and where the JSON run ended (any text after it is not JSON).
    """
    calls: list[ToolCall] = []
    pos = start
    while True:
        while pos < stop and (text[pos].isspace() or text[pos] in ";,"):
            pos += 1
        if pos >= stop or text[pos] not in "{[":
            return calls, pos
        value, end = decode_at(text, pos, stop)
        items = value if isinstance(value, list) and value else [value]
        for item in items:
            call = call_from_object(item, require_arguments=False)
            calls.append(call or broken_call(text[pos:end], what))
        pos = end


def _body_calls(body: str, what: str) -> list[ToolCall]:
    """Calls in the body of one tag: JSON (fenced or not, possibly several), else Python call syntax."""
    inner = strip_fence(body).strip()
    if not inner:
        return [ToolCall(name="", arguments_error=f"{what} is empty: write the tool name and arguments")]
    if inner[0] in "{[":
        calls, end = json_calls(inner, 0, len(inner), what)
        if calls and not inner[end:].strip():
            return calls
    return pythonic_calls(inner) or [broken_call(inner, what)]


_HERMES_RE = re.compile(r"<tool_call>(?P<body>.*?)(?:</tool_call>|(?=<tool_call>)|\Z)", re.DOTALL)


def parse_hermes(text: str) -> list[Group]:
    """Hermes / Qwen2.5: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, one tag per call.

    An unclosed tag runs to the next ``<tool_call>`` or the end of the reply (generation often stops on
    the closing tag or runs out of tokens).
    """
    groups = []
    for match in _HERMES_RE.finditer(text):
        body = match.group("body")
        if body.lstrip().startswith("<function="):
            continue  # Qwen3-Coder XML inside the same tag: see parse_qwen3_xml
        groups.append(Group(match.start(), match.end(), _body_calls(body, "<tool_call> content")))
    return groups


_FUNCTION_RE = re.compile(
    r"(?:<tool_call>\s*)?<function=(?P<name>[^>\n]*)>(?P<body>.*?)"
    r"(?:</function>|(?=<function=|<tool_call>|</tool_call>)|\Z)(?:\s*</tool_call>)?",
    re.DOTALL,
)
_PARAMETER_RE = re.compile(
    r"<parameter=(?P<name>[^>\n]*)>(?P<value>.*?)(?:</parameter>|(?=<parameter=|</function>)|\Z)", re.DOTALL
)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity stay strings


def xml_value(raw: str) -> Any:
    """A parameter value: JSON when it decodes (numbers, booleans, objects, lists), else the string."""
    value = raw[1:] if raw.startswith("\n") else raw
    value = value[:-1] if value.endswith("\n") else value
    try:
        return json.loads(value, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return value


def parse_qwen3_xml(text: str) -> list[Group]:
    """Qwen3-Coder: ``<tool_call><function=f><parameter=x>value</parameter></function></tool_call>``.

    The ``<tool_call>`` wrapper is optional and several functions may share one; unclosed parameter or
    function tags end at the next tag or at the end of the reply.
    """
    if "<function=" not in text:
        return []  # a cheap test first: most replies have no call at all
    groups = []
    for match in _FUNCTION_RE.finditer(text):
        arguments = {
            p.group("name").strip(): xml_value(p.group("value"))
            for p in _PARAMETER_RE.finditer(match.group("body"))
        }
        call = ToolCall(name=match.group("name").strip(), arguments=arguments)
        groups.append(Group(match.start(), match.end(), [call]))
    return groups


_MISTRAL_TAG = "[TOOL_CALLS]"
_MISTRAL_NAMED_RE = re.compile(r"\s*(?P<name>[^\[\]{}\s]+)\s*(?:\[CALL_ID\]\s*\w*\s*)?\[ARGS\]")


def _skip_space(text: str, pos: int, stop: int) -> int:
    while pos < stop and text[pos].isspace():
        pos += 1
    return pos


def _mistral_named_call(text: str, named: re.Match[str], stop: int) -> tuple[ToolCall, int]:
    """The call ``name[ARGS]{...}`` whose name part ``named`` matched, and where its arguments end."""
    start = _skip_space(text, named.end(), stop)
    if text[start : start + 1] in ("{", "["):
        value, end = decode_at(text, start, stop)
        arguments, raw, error = arguments_of(value if value is not None else text[start:end], True)
    else:
        end = stop
        raw = text[start:stop].strip()
        arguments, error = {}, f"no JSON object of arguments after [ARGS]: {raw[:200]!r}"
    call = ToolCall(name=named.group("name"), arguments=arguments, raw_arguments=raw, arguments_error=error)
    return call, end


def parse_mistral(text: str) -> list[Group]:
    """Mistral: ``[TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]`` (v3 tokenizer) and
    ``[TOOL_CALLS]name[ARGS]{...}`` (v11+, one tag per call, optionally with ``[CALL_ID]id``).
    """
    groups = []
    starts = [m.start() for m in re.finditer(re.escape(_MISTRAL_TAG), text)]
    for index, tag_start in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else len(text)
        pos = _skip_space(text, tag_start + len(_MISTRAL_TAG), stop)
        calls: list[ToolCall] = []
        if text[pos : pos + 1] in ("{", "["):
            calls, pos = json_calls(text, pos, stop, "[TOOL_CALLS] content")
        else:
            while named := _MISTRAL_NAMED_RE.match(text, pos, stop):
                call, pos = _mistral_named_call(text, named, stop)
                calls.append(call)
        if not calls:
            raw_rest = text[tag_start + len(_MISTRAL_TAG) : stop].strip()
            calls, pos = [broken_call(raw_rest, "[TOOL_CALLS] content")], stop
        groups.append(Group(tag_start, pos, calls))
    return groups


_PYTHON_TAG = "<|python_tag|>"
_LLAMA_END_RE = re.compile(r"<\|eom_id\|>|<\|eot_id\|>|<\|python_tag\|>")
_BUILTIN_RE = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\.call\(", re.DOTALL)


def parse_python_tag(text: str) -> list[Group]:
    """Llama 3.1+: ``<|python_tag|>`` then JSON call(s) separated by ``;``, a built-in tool call
    ``brave_search.call(query="...")``, or raw Python code for the built-in ``code_interpreter``.
    """
    groups = []
    pos = 0
    while (tag := text.find(_PYTHON_TAG, pos)) != -1:
        body_start = tag + len(_PYTHON_TAG)
        end_match = _LLAMA_END_RE.search(text, body_start)
        stop = end_match.start() if end_match else len(text)
        end = end_match.end() if end_match and end_match.group() != _PYTHON_TAG else stop
        body = text[body_start:stop]
        stripped = strip_fence(body).strip()
        calls: list[ToolCall]
        if stripped[:1] in ("{", "["):
            calls = _body_calls(stripped, "<|python_tag|> content")
        elif builtin := _BUILTIN_RE.match(stripped):
            expr = parse_expression(stripped)
            if isinstance(expr, ast.Call):
                calls = [call_from_node(expr, stripped, name=builtin.group("name"))]
            else:
                calls = [broken_call(stripped, "<|python_tag|> content")]
        elif stripped:
            calls = [ToolCall(name="code_interpreter", arguments={"code": stripped})]
        else:
            calls = [ToolCall(name="", arguments_error="<|python_tag|> is followed by nothing")]
        groups.append(Group(tag, end, calls))
        pos = max(end, body_start)
    return groups


_REACT_RE = re.compile(
    r"^[ \t]*Action[ \t]*:[ \t]*(?P<name>[^\n]*?)[ \t]*\n(?:[ \t]*\n)*"
    r"[ \t]*Action[ \t]*Input[ \t]*:[ \t]*(?P<input>.*?)"
    r"(?=^[ \t]*(?:Thought|Action|Observation|Final[ \t]+Answer)[ \t]*:|\Z)",
    re.DOTALL | re.MULTILINE,
)
_OBSERVATION_RE = re.compile(r"^[ \t]*Observation[ \t]*:", re.MULTILINE)


def _react_call(name: str, raw_input: str) -> ToolCall:
    name = name.strip().strip("`'\"*").removesuffix("()").strip()
    value = strip_fence(raw_input).strip()
    if not value:
        return ToolCall(name=name)
    if value[0] in "{[":
        decoded, end = decode_at(value, 0, len(value))
        if isinstance(decoded, dict) and not value[end:].strip():
            return ToolCall(name=name, arguments=decoded)
    return ToolCall(
        name=name,
        raw_arguments=value,
        arguments_error=f"Action Input must be a JSON object of named arguments, got {value[:200]!r}",
    )


def parse_react(text: str) -> list[Group]:
    """ReAct: ``Action: name`` then ``Action Input: {json}``. An ``Observation:`` the model wrote itself
    after its last action is invented (the tool has not run yet), so it is cut from the content.
    """
    groups = [
        Group(m.start(), m.end(), [_react_call(m.group("name"), m.group("input"))])
        for m in _REACT_RE.finditer(text)
        if m.group("name").strip()
    ]
    if groups and (observation := _OBSERVATION_RE.search(text, groups[-1].end)):
        groups.append(Group(observation.start(), len(text), []))
    return groups

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
from agentkit.parsing._pythonic import SourceSegments, call_from_node, parse_expression, pythonic_calls


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
            if call is None:
                # A non-call in a list of several is shown as its own JSON, not the whole list's text,
                # so a list of n non-calls yields n short errors rather than n copies of the list.
                raw = text[pos:end] if len(items) == 1 else json.dumps(item, ensure_ascii=False)
                call = broken_call(raw, what)
            calls.append(call)
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


_XML_FUNCTION = "<function="
_XML_PARAMETER = "<parameter="
_FUNCTION_BODY_END_RE = re.compile(r"</function>|<function=|<tool_call>|</tool_call>")
_PARAMETER_VALUE_END_RE = re.compile(r"</parameter>|<parameter=|</function>")
_NAME_END_RE = re.compile(r"[>\n]")


class _NameEnds:
    """The first ``>`` or line break at or after a position, with each search reused while it holds.

    A tag's name runs to its ``>``; it is invalid when a line break (or the end) comes first. Asking
    afresh at each of thousands of ``<function=`` with no ``>`` after them would rescan to the end.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._searched_from = 0
        self._found = -2  # -2: nothing searched yet; -1: none up to the end

    def at(self, start: int) -> int:
        """Index of the first ``>``/``\\n`` at or after ``start``, or -1."""
        if self._found == -2 or start < self._searched_from or (self._found != -1 and start > self._found):
            match = _NAME_END_RE.search(self.text, start)
            self._found = match.start() if match else -1
            self._searched_from = start
        return self._found


def _xml_tags(text: str, opener: str, body_end_re: re.Pattern[str]) -> list[tuple[int, str, int, int]]:
    """``(start, name, body_start, body_end)`` of each ``<opener...NAME>body`` tag, left to right.

    A name holds no ``>`` or line break; a body runs to the first match of ``body_end_re`` or the end
    of the text. Equivalent to the lazy regular expressions used before, in one forward pass.
    """
    tags = []
    names = _NameEnds(text)
    pos = 0
    while (start := text.find(opener, pos)) != -1:
        name_end = names.at(start + len(opener))
        if name_end == -1:
            break
        if text[name_end] != ">":
            pos = start + 1
            continue
        body_start = name_end + 1
        closing = body_end_re.search(text, body_start)
        body_end = closing.start() if closing else len(text)
        tags.append((start, text[start + len(opener) : name_end], body_start, body_end))
        pos = body_end
    return tags


def _xml_parameters(body: str) -> dict[str, Any]:
    arguments = {}
    for _start, name, value_start, value_end in _xml_tags(body, _XML_PARAMETER, _PARAMETER_VALUE_END_RE):
        arguments[name.strip()] = xml_value(body[value_start:value_end])
    return arguments


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
    if _XML_FUNCTION not in text:
        return []  # a cheap test first: most replies have no call at all
    groups = []
    previous_end = 0
    for start, name, body_start, body_end in _xml_tags(text, _XML_FUNCTION, _FUNCTION_BODY_END_RE):
        wrapped = _back_over_space(text, start, previous_end)
        if wrapped >= previous_end + len("<tool_call>") and text.startswith("<tool_call>", wrapped - 11):
            start = wrapped - len("<tool_call>")
        end = body_end
        if text.startswith("</function>", end):
            end += len("</function>")
            after = _skip_space(text, end, len(text))
            if text.startswith("</tool_call>", after):
                end = after + len("</tool_call>")
        elif text.startswith("</tool_call>", end):
            end += len("</tool_call>")
        call = ToolCall(name=name.strip(), arguments=_xml_parameters(text[body_start:body_end]))
        groups.append(Group(start, end, [call]))
        previous_end = end
    return groups


def _back_over_space(text: str, pos: int, floor: int) -> int:
    while pos > floor and text[pos - 1].isspace():
        pos -= 1
    return pos


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
                calls = [call_from_node(expr, SourceSegments(stripped), name=builtin.group("name"))]
            else:
                name = builtin.group("name")
                error = f"<|python_tag|> content is not a call of {name} with literals: {stripped[:200]!r}"
                calls = [ToolCall(name=name, raw_arguments=stripped, arguments_error=error)]
        elif stripped:
            calls = [ToolCall(name="code_interpreter", arguments={"code": stripped})]
        else:
            calls = [ToolCall(name="", arguments_error="<|python_tag|> is followed by nothing")]
        groups.append(Group(tag, end, calls))
        pos = max(end, body_start)
    return groups


_ACTION_RE = re.compile(r"[ \t]*Action[ \t]*:[ \t]*")
_ACTION_INPUT_RE = re.compile(r"[ \t]*Action[ \t]*Input[ \t]*:[ \t]*")
_REACT_HEADER_RE = re.compile(r"[ \t]*(?:Thought|Action|Observation|Final[ \t]+Answer)[ \t]*:")
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


def _react_blocks(text: str) -> list[tuple[int, int, str, str]]:
    """``(start, end, name, input)`` of each ``Action: name`` line followed (blank lines aside) by an
    ``Action Input:`` line; the input runs to the next ``Thought:``/``Action:``/``Observation:``/
    ``Final Answer:`` line or the end.

    A line-by-line scan in which every line is looked at a bounded number of times; the regular
    expression it replaces let three runs of spaces around the name overlap, in cubic time.
    """
    blocks = []
    n = len(text)
    line = 0
    while line < n:
        action = _ACTION_RE.match(text, line)
        line_end = text.find("\n", action.end()) if action else -1
        if action is None or line_end == -1:
            next_break = text.find("\n", line)
            if next_break == -1:
                break
            line = next_break + 1
            continue
        name = text[action.end() : line_end].rstrip(" \t")
        following = _after_blank_lines(text, line_end + 1)
        action_input = _ACTION_INPUT_RE.match(text, following)
        if action_input is None:
            line = following  # the lines skipped were blank: none of them starts a block
            continue
        end = _next_react_header(text, action_input.end())
        blocks.append((line, end, name, text[action_input.end() : end]))
        line = end
    return blocks


def _after_blank_lines(text: str, line: int) -> int:
    """The start of the first line at or after ``line`` that holds more than spaces and tabs."""
    while True:
        i = line
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "\n":
            line = i + 1
        else:
            return line


def _next_react_header(text: str, pos: int) -> int:
    """The start of the first line after ``pos`` that begins a ReAct step, or the end of the text."""
    while (line_break := text.find("\n", pos)) != -1:
        pos = line_break + 1
        if _REACT_HEADER_RE.match(text, pos):
            return pos
    return len(text)


def parse_react(text: str) -> list[Group]:
    """ReAct: ``Action: name`` then ``Action Input: {json}``. An ``Observation:`` the model wrote itself
    after its last action is invented (the tool has not run yet), so it is cut from the content.
    """
    groups = [
        Group(start, end, [_react_call(name, raw_input)])
        for start, end, name, raw_input in _react_blocks(text)
        if name.strip()
    ]
    if groups and (observation := _OBSERVATION_RE.search(text, groups[-1].end)):
        groups.append(Group(observation.start(), len(text), []))
    return groups

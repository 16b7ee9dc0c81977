"""Parsers for the untagged formats: JSON or Python-call text that may equally be a plain answer.

These are the formats the ``tool_names`` filter applies to: a candidate naming no known tool is left
as content. Each candidate must also look deliberate (a whole reply, a line of its own, a code fence),
so a JSON value quoted in the middle of an explanation is not mistaken for a call.
"""

from __future__ import annotations

import re

from agentkit.messages import ToolCall
from agentkit.parsing._core import Group, balanced_end, call_from_object, calls_from_value, decode_at
from agentkit.parsing._pythonic import pythonic_calls

_LLAMA_PREFIX_RE = re.compile(r"\s*(?:<\|python_tag\|>\s*)?")
_LLAMA_END_TOKENS = ("<|eom_id|>", "<|eot_id|>")


def _strip_end_tokens(text: str, stop: int) -> int:
    """``stop`` moved back over trailing whitespace and one Llama end-of-turn token."""
    while stop > 0 and text[stop - 1].isspace():
        stop -= 1
    for token in _LLAMA_END_TOKENS:
        if stop >= len(token) and text.startswith(token, stop - len(token)):
            return stop - len(token)
    return stop


def parse_llama3_json(text: str) -> list[Group]:
    """Llama 3.x custom tools: the whole reply is ``{"name": ..., "parameters": {...}}``, possibly
    several separated by ``;`` (Llama 3.2/3.3), with an optional ``<|python_tag|>`` in front.
    """
    start = _LLAMA_PREFIX_RE.match(text)
    pos = start.end() if start else 0
    if not text.startswith("{", pos):
        return []
    stop = len(text)
    while (trimmed := _strip_end_tokens(text, stop)) != stop:
        stop = trimmed
    calls: list[ToolCall] = []
    while pos < stop:
        if text[pos] != "{":
            return []
        value, end = decode_at(text, pos, stop)
        call = call_from_object(value, require_arguments=True)
        if call is None or not isinstance(value, dict) or "parameters" not in value:
            return []
        calls.append(call)
        pos = end
        while pos < stop and (text[pos].isspace() or text[pos] == ";"):
            pos += 1
    return [Group(0, len(text), calls)] if calls else []


_PY_LIST_RE = re.compile(
    r"^[ \t]*(?:<\|python_start\|>\s*|```(?:python|py|tool_code)?[ \t]*\n[ \t]*)?"
    r"(?P<list>\[)\s*[A-Za-z_][\w.]*\s*\(",
    re.MULTILINE,
)
_PY_TAIL_RE = re.compile(r"[ \t]*(?:<\|python_end\|>|\n?[ \t]*```)?[ \t]*(?:\n|\Z)")


def parse_pythonic(text: str) -> list[Group]:
    """Pythonic (Llama 3.2/4, many small models): ``[f(a=1, b="x"), g()]`` on a line of its own,
    optionally inside ``<|python_start|>...<|python_end|>`` or a ```python fence.
    """
    groups = []
    pos = 0
    while match := _PY_LIST_RE.search(text, pos):
        list_start = match.start("list")
        end = balanced_end(text, list_start, len(text))
        calls = pythonic_calls(text[list_start:end])
        tail = _PY_TAIL_RE.match(text, end)
        if calls and tail:
            groups.append(Group(match.start(), tail.end(), calls))
            pos = max(tail.end(), match.end())
        else:
            pos = match.end()
    return groups


_FENCE_RE = re.compile(
    r"```[ \t]*(?:json|JSON|tool_call|tool_calls)?[ \t]*\n(?P<body>.*?)(?:```|\Z)", re.DOTALL
)
_CALL_START_RE = re.compile(
    r"""(?:\[\s*)?\{\s*["']?(?:name|tool_name|tool|function|action|type|id)["']?\s*:"""
)


def parse_json(text: str) -> list[Group]:
    """Fenced ```json blocks, or bare JSON objects/lists, describing calls with name + arguments
    (or parameters), including the OpenAI ``{"type": "function", "function": {...}}`` shape.
    """
    if "{" not in text:
        return []  # every call shape has an object in it
    groups = []
    fenced: list[tuple[int, int]] = []
    for match in _FENCE_RE.finditer(text):
        fenced.append((match.start(), match.end()))
        body = match.group("body").strip()
        if body[:1] not in ("{", "["):
            continue
        value, end = decode_at(body, 0, len(body))
        calls = calls_from_value(value, require_arguments=True)
        if calls and not body[end:].strip():
            groups.append(Group(match.start(), match.end(), calls))
    pos = 0
    while bare := _CALL_START_RE.search(text, pos):
        inside = next((f for f in fenced if f[0] <= bare.start() < f[1]), None)
        if inside is not None:
            pos = inside[1]
            continue
        value, end = decode_at(text, bare.start(), len(text))
        calls = calls_from_value(value, require_arguments=True)
        if calls:
            groups.append(Group(bare.start(), end, calls))
            pos = end
        else:
            pos = bare.start() + 1
    return sorted(groups, key=lambda group: group.start)

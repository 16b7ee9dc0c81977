"""Parsers for the untagged formats: JSON or Python-call text that may equally be a plain answer.

These are the formats the ``tool_names`` filter applies to: a candidate naming no known tool is left
as content. Each candidate must also look deliberate (a whole reply, a line of its own, a code fence),
so a JSON value quoted in the middle of an explanation is not mistaken for a call.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right

from agentkit.messages import ToolCall
from agentkit.parsing._core import Group, call_from_object, calls_from_value, decode_at
from agentkit.parsing._pythonic import ListEnds, pythonic_calls

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
_PY_TAIL_RE = re.compile(
    r"[ \t]*(?:<\|python_end\|>[ \t]*|\n[ \t]*```[ \t]*|```[ \t]*)?(?:\n|\Z)"
)  # what may follow the list on its line; no two runs of [ \t]* can match the same spaces


def parse_pythonic(text: str) -> list[Group]:
    """Pythonic (Llama 3.2/4, many small models): ``[f(a=1, b="x"), g()]`` on a line of its own,
    optionally inside ``<|python_start|>...<|python_end|>`` or a ```python fence.

    A candidate list runs to its matching ``]`` (:class:`ListEnds`); one that never closes is not a
    call. Lines inside a candidate that failed to parse belong to it, so each character is parsed at
    most once.
    """
    groups = []
    ends = ListEnds(text)
    pos = 0
    while match := _PY_LIST_RE.search(text, pos):
        list_start = match.start("list")
        end = ends.end_of(list_start)
        if end is None:
            pos = match.end()
            continue
        calls = pythonic_calls(text[list_start:end])
        tail = _PY_TAIL_RE.match(text, end)
        if calls and tail:
            groups.append(Group(match.start(), tail.end(), calls))
            pos = max(tail.end(), match.end())
        else:
            pos = max(end, match.end())
    return groups


_FENCE_RE = re.compile(
    r"```[ \t]*(?:(?:json|JSON|tool_call|tool_calls)[ \t]*)?\n(?P<body>.*?)(?:```|\Z)", re.DOTALL
)
_CALL_START_RE = re.compile(
    r"""(?:\[\s*)?\{\s*["']?(?:name|tool_name|tool|function|action|type|id)["']?\s*:"""
)
MAX_NESTED_TRIES = 4
"""How many failed candidates may enclose one that is still tried (a call inside a JSON answer, as in
``{"id": 1, "call": {"name": ...}}``). Each character is then decoded at most this many times."""


def parse_json(text: str) -> list[Group]:
    """Fenced ```json blocks, or bare JSON objects/lists, describing calls with name + arguments
    (or parameters), including the OpenAI ``{"type": "function", "function": {...}}`` shape.
    """
    if "{" not in text:
        return []  # every call shape has an object in it
    groups = []
    fence_starts: list[int] = []
    fence_ends: list[int] = []
    for match in _FENCE_RE.finditer(text):
        fence_starts.append(match.start())
        fence_ends.append(match.end())
        body = match.group("body").strip()
        if body[:1] not in ("{", "["):
            continue
        value, end = decode_at(body, 0, len(body))
        calls = calls_from_value(value, require_arguments=True)
        if calls and not body[end:].strip():
            groups.append(Group(match.start(), match.end(), calls))
    groups.extend(_bare_groups(text, fence_starts, fence_ends))
    return sorted(groups, key=lambda group: group.start)


def _bare_groups(text: str, fence_starts: list[int], fence_ends: list[int]) -> list[Group]:
    """Calls written as bare JSON outside the fences, tried left to right.

    A candidate that is not a call is stepped into (a call may sit inside it), but only while fewer
    than :data:`MAX_NESTED_TRIES` failed candidates enclose the position: retrying every ``{"name":``
    of an adversarial reply to its end made the time quadratic.
    """
    groups = []
    failed_ends: list[int] = []  # a heap: where each failed candidate that may still enclose us ends
    pos = 0
    while bare := _CALL_START_RE.search(text, pos):
        start = bare.start()
        fence = bisect_right(fence_starts, start) - 1
        if fence >= 0 and start < fence_ends[fence]:
            pos = fence_ends[fence]
            continue
        while failed_ends and failed_ends[0] <= start:
            heapq.heappop(failed_ends)
        if len(failed_ends) >= MAX_NESTED_TRIES:
            pos = start + 1
            continue
        value, end = decode_at(text, start, len(text))
        calls = calls_from_value(value, require_arguments=True)
        if calls:
            groups.append(Group(start, end, calls))
            pos = end
        else:
            heapq.heappush(failed_ends, end)
            pos = start + 1
    return groups

"""Shared pieces of the tool-call parsers: the error, match groups, and lenient JSON decoding.

Every parser returns :class:`Group` objects: one span of the reply and the calls read from it. The
span lets :func:`agentkit.parsing.parse_tool_calls` keep the text outside the calls as content, and a
group is the unit the ``tool_names`` filter accepts or rejects (a JSON list of two calls is one group).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agentkit.messages import ToolCall, parse_arguments


@dataclass(frozen=True, slots=True)
class Group:
    """The calls read from ``text[start:end]``."""

    start: int
    end: int
    calls: list[ToolCall]


_DECODER = json.JSONDecoder()
_FENCE_RE = re.compile(r"^\s*```[\w+-]*[ \t]*\n?(?P<body>.*?)\n?[ \t]*(?:```\s*)?$", re.DOTALL)


def strip_fence(text: str) -> str:
    """``text`` without a surrounding Markdown code fence (```json ... ```), if it has one."""
    match = _FENCE_RE.match(text)
    return match.group("body") if match else text


_BRACKETS_RE = re.compile(r"[\[\]{}]")
MAX_REPAIR_DEPTH = 100
"""Deeper brackets are not repaired: no real call nests that far, and json-repair recurses per level
(it gives up near 300 levels, after seconds of work)."""


def too_deep(text: str, limit: int = MAX_REPAIR_DEPTH) -> bool:
    """Whether brackets in ``text`` nest deeper than ``limit`` (strings not excluded: a cheap guard)."""
    depth = 0
    for match in _BRACKETS_RE.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def repair(text: str) -> Any:
    """``text`` decoded strictly, else repaired by json-repair; ``None`` when nothing usable comes out."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    if too_deep(text):
        return None
    from json_repair import repair_json  # only broken input pays for the import

    try:
        value = repair_json(text, return_objects=True)
    except Exception:  # noqa: BLE001 - json-repair gives up in many ways; all mean "not JSON"
        return None
    return value if isinstance(value, dict | list) else None


def balanced_end(text: str, start: int, stop: int) -> int:
    """Index just past the bracket closing the one at ``text[start]``, or ``stop`` if it never closes.

    Aware of double- and single-quoted strings, so brackets inside string values do not count.
    """
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


def decode_at(text: str, start: int, stop: int) -> tuple[Any, int]:
    """Decode the JSON value starting at ``text[start]`` (a ``{`` or ``[``) and ending before ``stop``.

    Returns ``(value, end)``. Valid JSON is decoded exactly; otherwise the value is taken to end at its
    matching bracket (or at ``stop`` when it is unclosed) and repaired. ``value`` is ``None`` when even
    the repair yields no object or list.
    """
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        pass
    else:
        if end <= stop:
            return value, end
    end = balanced_end(text, start, stop)
    return repair(text[start:end]), end


def arguments_of(value: Any, present: bool) -> tuple[dict[str, Any], str | None, str | None]:
    """``(arguments, raw_arguments, error)`` from the arguments value a model wrote.

    A dict is used as is; a string (OpenAI style, JSON inside a string) goes through
    :func:`agentkit.messages.parse_arguments`, which repairs it or says why it cannot; anything else is
    an error the model will see.
    """
    if not present or value is None:
        return {}, None, None
    if isinstance(value, dict):
        return value, None, None
    if isinstance(value, str):
        if too_deep(value):
            return {}, value, f"arguments nest deeper than {MAX_REPAIR_DEPTH} levels: {value[:200]!r}"
        arguments, error = parse_arguments(value)
        return arguments, (value if error is not None else None), error
    raw = json.dumps(value, ensure_ascii=False)
    return {}, raw, f"arguments must be a JSON object, got {type(value).__name__}: {raw[:200]!r}"


NAME_KEYS = ("name", "tool_name", "tool", "function")
ARGUMENT_KEYS = ("arguments", "parameters", "args")


def call_from_object(obj: Any, *, require_arguments: bool) -> ToolCall | None:
    """The call described by a decoded JSON object, or ``None`` if it does not describe one.

    Accepts ``{"name", "arguments"|"parameters"}``, the OpenAI wrapper ``{"type": "function",
    "function": {...}}`` and LangChain's ``{"action", "action_input"}``. With ``require_arguments`` an
    object without an arguments key is not a call (a JSON answer that merely has a ``name`` field).
    """
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = next((obj[k] for k in NAME_KEYS if isinstance(obj.get(k), str)), None)
    arg_key = next((k for k in ARGUMENT_KEYS if k in obj), None)
    if name is None and isinstance(obj.get("action"), str) and "action_input" in obj:
        name, arg_key = obj["action"], "action_input"
    if name is None or not name.strip() or (require_arguments and arg_key is None):
        return None
    arguments, raw, error = arguments_of(obj.get(arg_key) if arg_key else None, arg_key is not None)
    return ToolCall(name=name.strip(), arguments=arguments, raw_arguments=raw, arguments_error=error)


def calls_from_value(value: Any, *, require_arguments: bool) -> list[ToolCall] | None:
    """The calls in a decoded object or list of objects; ``None`` unless every element is a call."""
    items = value if isinstance(value, list) else [value]
    calls = [call_from_object(item, require_arguments=require_arguments) for item in items]
    if not calls or any(call is None for call in calls):
        return None
    return [call for call in calls if call is not None]


_NAME_RE = re.compile(r"""["']?name["']?\s*:\s*["']([^"'\n]{1,200})["']""")


def broken_call(raw: str, what: str) -> ToolCall:
    """A call whose text could not be decoded at all: kept, so the model hears what went wrong.

    The tool name is recovered with a regular expression where possible; otherwise it is empty and the
    registry answers with the list of available tools.
    """
    match = _NAME_RE.search(raw)
    return ToolCall(
        name=match.group(1).strip() if match else "",
        raw_arguments=raw,
        arguments_error=f"{what} could not be read as a JSON tool call: {raw[:200]!r}",
    )

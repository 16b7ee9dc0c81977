"""Shared pieces of the tool-call parsers: match groups, fences, and lenient JSON decoding.

Every parser returns :class:`Group` objects: one span of the reply and the calls read from it. The
span lets :func:`agentkit.parsing.parse_tool_calls` keep the text outside the calls as content, and a
group is the unit the ``tool_names`` filter accepts or rejects (a JSON list of two calls is one group).

A reply is untrusted input, so everything here takes time linear in the text it is given: no regular
expression has two quantifiers that can match the same characters, scans go forward only, and broken
JSON is read by :mod:`agentkit.parsing._lenient` rather than a library that scans ahead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agentkit.messages import ToolCall
from agentkit.parsing._lenient import read_lenient


@dataclass(frozen=True, slots=True)
class Group:
    """The calls read from ``text[start:end]``."""

    start: int
    end: int
    calls: list[ToolCall]


_DECODER = json.JSONDecoder()
_FENCE_OPEN_RE = re.compile(r"\s*```[\w+-]*[ \t]*\n?")


def strip_fence(text: str) -> str:
    """``text`` without a surrounding Markdown code fence (```json ... ```), if it has one.

    The body ends where only an optional newline, spaces or tabs, an optional closing fence and
    whitespace are left. Found from the right in one pass (a lazy regex found it in quadratic time).
    """
    opening = _FENCE_OPEN_RE.match(text)
    if opening is None:
        return text
    start, n = opening.end(), len(text)
    # Without a closing fence: the tail is "\n"? [ \t]* and then the end, or a last "\n".
    end = n - 1 if n - 1 >= start and text[n - 1] == "\n" else n
    end = _back_over(text, end, start, " \t")
    if end - 1 >= start and text[end - 1] == "\n":
        end -= 1
    # With one: "\n"? [ \t]* ``` and whitespace to the end, which reaches further left.
    closing = len(text.rstrip()) - 3
    if closing >= start and text.startswith("```", closing):
        fenced = _back_over(text, closing, start, " \t")
        if fenced - 1 >= start and text[fenced - 1] == "\n":
            fenced -= 1
        end = min(end, fenced)
    return text[start:end]


def _back_over(text: str, end: int, floor: int, chars: str) -> int:
    """``end`` moved left over ``chars``, never below ``floor``."""
    while end > floor and text[end - 1] in chars:
        end -= 1
    return end


_BRACKETS_RE = re.compile(r"[\[\]{}]")
MAX_REPAIR_DEPTH = 100
"""Deeper brackets are not repaired: no real call nests that far."""


def too_deep(text: str, limit: int = MAX_REPAIR_DEPTH) -> bool:
    """Whether brackets in ``text`` nest deeper than ``limit`` (strings not excluded: a cheap guard)."""
    depth = 0
    for match in _BRACKETS_RE.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def repair(text: str) -> Any:
    """``text`` decoded strictly, else read leniently; ``None`` when no object or list comes out."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    if too_deep(text):
        return None
    value = read_lenient(text, MAX_REPAIR_DEPTH)
    return value if isinstance(value, dict | list) else None


_JSON_EVENT_RE = re.compile(r"[\[\]{}\"']")
_IN_QUOTE_RE = {'"': re.compile(r'[\\"]'), "'": re.compile(r"[\\']")}


def balanced_end(text: str, start: int, stop: int) -> int:
    """Index just past the bracket closing the one at ``text[start]``, or ``stop`` if it never closes.

    Aware of double- and single-quoted strings, so brackets inside string values do not count.
    Regular expressions jump between the characters that matter, so plain text is skipped at C speed.
    """
    depth = 0
    i = start
    while (event := _JSON_EVENT_RE.search(text, i, stop)) is not None:
        ch = event.group()
        i = event.end()
        if ch in "\"'":
            inside = _IN_QUOTE_RE[ch]
            while (quote := inside.search(text, i, stop)) is not None and quote.group() == "\\":
                i = quote.end() + 1  # the escaped character is skipped
            if quote is None:
                return stop
            i = quote.end()
        elif ch in "{[":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return i
    return stop


def decode_at(text: str, start: int, stop: int) -> tuple[Any, int]:
    """Decode the JSON value starting at ``text[start]`` (a ``{`` or ``[``) and ending before ``stop``.

    Returns ``(value, end)``. Valid JSON is decoded exactly; otherwise the value is taken to end at its
    matching bracket (or at ``stop`` when it is unclosed) and repaired. ``value`` is ``None`` when even
    the repair yields no object or list. The work is proportional to ``end - start``: the strict
    decoder never reads past ``stop``, so a later call on the rest of the text does not read it again.
    """
    if stop == len(text):
        try:
            return _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            end = balanced_end(text, start, stop)
            return repair(text[start:end]), end
    end = balanced_end(text, start, stop)
    return repair(text[start:end]), end


def _string_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """Arguments sent as a JSON string (OpenAI style): strict, then lenient; or what was wrong.

    The same outcomes and messages as :func:`agentkit.messages.parse_arguments`, with the linear
    lenient reader instead of json-repair.
    """
    if raw == "":
        return {}, None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        reason = f"{exc.msg} at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        value = read_lenient(raw, MAX_REPAIR_DEPTH)
        if not isinstance(value, dict) or (not value and raw.strip() not in ("{}", "")):
            return {}, f"arguments are not valid JSON ({reason}): {raw[:200]!r}"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}: {raw[:200]!r}"
    return value, None


def arguments_of(value: Any, present: bool) -> tuple[dict[str, Any], str | None, str | None]:
    """``(arguments, raw_arguments, error)`` from the arguments value a model wrote.

    A dict is used as is; a string (OpenAI style, JSON inside a string) is decoded strictly, else
    repaired, else the reason is given; anything else is an error the model will see.
    """
    if not present or value is None:
        return {}, None, None
    if isinstance(value, dict):
        return value, None, None
    if isinstance(value, str):
        if too_deep(value):
            return {}, value, f"arguments nest deeper than {MAX_REPAIR_DEPTH} levels: {value[:200]!r}"
        arguments, error = _string_arguments(value)
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
    calls = []
    for item in items:
        call = call_from_object(item, require_arguments=require_arguments)
        if call is None:
            return None  # stop at the first non-call: a long list of them costs nothing more
        calls.append(call)
    return calls or None


_NAME_RE = re.compile(r"""["']?name["']?\s*:\s*["']([^"'\n]{1,200})["']""")
_LEADING_NAME_RE = re.compile(r"\s*(?P<name>[A-Za-z_][\w.-]{0,127})(?![\w.-])\s*")
_ARGUMENTS_START_RE = re.compile(r"[({\[]|[A-Za-z_]\w*\s*[=:]")


def broken_call(raw: str, what: str) -> ToolCall:
    """A call whose text could not be decoded at all: kept, so the model hears what went wrong.

    The tool name is recovered where the text shows one: a JSON-style ``"name": "f"``, or a leading
    tool name followed by nothing or by something argument-like (``add a=1 b=2``, ``add(a=1 b=2)``,
    ``add {a: 1``). Otherwise the name is empty and the registry answers with the available tools.
    """
    if match := _NAME_RE.search(raw):
        return ToolCall(
            name=match.group(1).strip(),
            raw_arguments=raw,
            arguments_error=f"{what} could not be read as a JSON tool call: {raw[:200]!r}",
        )
    leading = _LEADING_NAME_RE.match(raw)
    if leading is not None:
        rest = raw[leading.end() :].rstrip()
        if not rest or _ARGUMENTS_START_RE.match(rest):
            name = leading.group("name")
            after = repr(rest[:200]) if rest else "nothing"
            return ToolCall(
                name=name,
                raw_arguments=rest,
                arguments_error=(
                    f"{what} is not JSON: after the tool name {name!r} came {after}; write "
                    f'{{"name": {json.dumps(name)}, "arguments": {{...}}}}, the arguments as a JSON object'
                ),
            )
    return ToolCall(
        name="",
        raw_arguments=raw,
        arguments_error=f"{what} could not be read as a JSON tool call: {raw[:200]!r}",
    )

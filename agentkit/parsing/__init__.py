"""Tool calls from raw model text, in every common format, with an explicit "no call" result.

Models without native tool calling (a local transformers model, an OpenAI-compatible server in text
mode) write their calls as text. :func:`parse_tool_calls` reads them::

    reply = parse_tool_calls('<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>')
    reply.tool_calls[0].arguments  # {'a': 2, 'b': 3}
    reply.format                   # 'hermes'

Formats are tried in :data:`FORMATS` order (tagged ones first) and the first that finds a call wins.
Tagged formats always yield calls, broken ones included (with ``arguments_error`` set, so the model is
told what to fix). Untagged ones (``llama3_json``, ``pythonic``, ``json``) can also be plain answers,
so with ``tool_names`` a candidate that names no known tool stays content. See docs/parsing.md.

A reply is untrusted input: parsing never raises for any text, and its time is linear in the text's
length (``tests/unit/test_parsing_linear.py`` measures it, ``benchmarks/parsing.py`` reports it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from agentkit.errors import ConfigurationError
from agentkit.messages import ToolCall
from agentkit.parsing._core import Group
from agentkit.parsing._lenient import read_lenient
from agentkit.parsing._tagged import (
    parse_hermes,
    parse_mistral,
    parse_python_tag,
    parse_qwen3_xml,
    parse_react,
)
from agentkit.parsing._untagged import parse_json, parse_llama3_json, parse_pythonic
from agentkit.parsing.detect import detect_format
from agentkit.parsing.instructions import tool_instructions

_log = logging.getLogger(__name__)

_PARSERS: dict[str, Callable[[str], list[Group]]] = {
    "qwen3_xml": parse_qwen3_xml,
    "hermes": parse_hermes,
    "mistral": parse_mistral,
    "python_tag": parse_python_tag,
    "react": parse_react,
    "llama3_json": parse_llama3_json,
    "pythonic": parse_pythonic,
    "json": parse_json,
}

FORMATS: tuple[str, ...] = tuple(_PARSERS)
"""Every format name, in the order :func:`parse_tool_calls` tries them by default."""

TAGGED_FORMATS = frozenset({"qwen3_xml", "hermes", "mistral", "python_tag", "react"})
"""Formats whose calls are explicitly marked, so ``tool_names`` never turns them into content."""


@dataclass(frozen=True)
class ParsedReply:
    """A model reply split into its text and its tool calls."""

    content: str | None
    """The text outside the tool calls, stripped; ``None`` when nothing is left."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """The calls in the order written; ``[]`` is the explicit "no call" result."""
    format: str | None = None
    """The format that matched, ``None`` when there is no call."""

    @property
    def has_calls(self) -> bool:
        return bool(self.tool_calls)


def _check_formats(formats: Sequence[str] | None) -> tuple[str, ...]:
    if formats is None:
        return FORMATS
    names = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = [name for name in names if name not in _PARSERS]
    if unknown:
        raise ConfigurationError(
            f"unknown tool-call format(s) {', '.join(map(repr, unknown))}; "
            f"known formats: {', '.join(FORMATS)}"
        )
    return names


def _content(text: str, groups: Sequence[Group]) -> str | None:
    pieces = []
    pos = 0
    for group in groups:
        pieces.append(text[pos : max(pos, group.start)])
        pos = max(pos, group.end)
    pieces.append(text[pos:])
    return "".join(pieces).strip() or None


def parse_tool_calls(
    text: str, *, formats: Sequence[str] | None = None, tool_names: Collection[str] | None = None
) -> ParsedReply:
    """Split ``text`` into content and tool calls.

    ``formats`` restricts (and orders) the formats tried; ``tool_names`` are the registered tools,
    used only to tell an untagged JSON or pythonic answer from a call. Every call gets a fresh id.

    Raises :class:`~agentkit.errors.ConfigurationError` for an unknown name in ``formats`` (checked
    before any parsing: a mistake in the caller's code, not in the reply). Raises nothing for any
    ``text``: should a parser fail all the same (a bug), the reply comes back as content with one call
    whose ``arguments_error`` asks the model to write its call again, and the failure is logged.
    """
    names = _check_formats(formats)
    known = None if tool_names is None else frozenset(tool_names)
    for name in names:
        try:
            groups = _PARSERS[name](text)
            if known is not None and name not in TAGGED_FORMATS:
                groups = [g for g in groups if any(call.name in known for call in g.calls)]
            calls = [call for group in groups for call in group.calls]
            if calls:
                return ParsedReply(content=_content(text, groups), tool_calls=calls, format=name)
        except Exception as exc:  # noqa: BLE001 - the contract: no input text makes parsing raise
            return _parser_failed(text, name, exc)
    return ParsedReply(content=text.strip() or None, tool_calls=[], format=None)


def _parser_failed(text: str, name: str, exc: Exception) -> ParsedReply:
    """The documented outcome of a parser bug: nothing raised, nothing lost, the model told."""
    _log.warning("the %s tool-call parser failed on a reply of %d characters", name, len(text), exc_info=exc)
    call = ToolCall(
        name="",
        arguments_error=(
            f"the reply could not be read as {name} tool calls ({type(exc).__name__}); "
            "write each tool call again, exactly in the requested format"
        ),
    )
    return ParsedReply(content=text.strip() or None, tool_calls=[call], format=name)


__all__ = [
    "FORMATS",
    "TAGGED_FORMATS",
    "ParsedReply",
    "detect_format",
    "parse_tool_calls",
    "read_lenient",
    "tool_instructions",
]

"""Hypothesis strategies for hostile tool calls and replies, shared by the property tests that drive
them through the agent (tests/unit/test_hostile_properties.py on the scripted backend,
tests/integration/test_openai_hostile_replies.py over real HTTP).

The classes of input, each from a trial that once ended a run: arguments nested thousands deep, lone
surrogates, strings of megabytes, NaN and infinities, integers too long to write as text, odd tool names
(empty, 100,000 characters, not ASCII, not strings at all on the wire), absurd or repeated ids, many calls
in one reply, and tools whose schema carries a ``$ref`` (resolvable or not).
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from agentkit import Agent, Tool, tool
from agentkit.errors import (
    ContextOverflowError,
    ToolDefinitionError,
    ToolLoopDetected,
    UserFacingError,
)
from agentkit.events import FinalOutput
from agentkit.messages import AssistantMessage, Message, ToolMessage
from agentkit.sessions import SQLiteSession

EXPECTED_ENDINGS: tuple[type[UserFacingError], ...] = (ContextOverflowError, ToolLoopDetected)
"""The documented errors a hostile reply may end a run with: a reply whose text alone overflows the
window (the latest turn is never cut), or the same failing call repeated past the loop guard."""


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@dataclass(frozen=True)
class Nested:
    """A recipe for a list nested ``depth`` deep: strategies draw recipes, so that Hypothesis can print
    a failing example (the ``repr`` of the value itself would recurse)."""

    depth: int

    def __repr__(self) -> str:
        return f"nested({self.depth})"


@dataclass(frozen=True)
class Huge:
    """A recipe for a string of ``size`` characters (printed short)."""

    size: int

    def __repr__(self) -> str:
        return f"'a' * {self.size}"


def materialize(value: Any) -> Any:
    """The value a recipe stands for (recipes sit in shallow structures: plain recursion is fine)."""
    if isinstance(value, Nested):
        return nested(value.depth)
    if isinstance(value, Huge):
        return "a" * value.size
    if isinstance(value, list):
        return [materialize(item) for item in value]
    if isinstance(value, dict):
        return {key: materialize(item) for key, item in value.items()}
    return value


SURROGATES = st.sampled_from(["a\ud800b", "\udfff", "\ud83d", "x\udc00" * 3])
HUGE = st.sampled_from([100_000, 2_000_000]).map(Huge)
SPECIAL_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf])
DEPTHS = st.sampled_from([50, 99, 101, 300, 1_000, 10_000])

hostile_text = st.one_of(st.text(max_size=40), SURROGATES, HUGE)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**64, 10**4000]),
    st.floats(),  # NaN and infinities included
    st.text(max_size=20),
    SURROGATES,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), SURROGATES), inner, max_size=4),
    ),
    max_leaves=12,
)
hostile_values = st.one_of(json_values, DEPTHS.map(Nested), HUGE, SPECIAL_FLOATS, SURROGATES)

TOOL_NAMES = ("echo", "keep", "refd")
odd_names = st.one_of(
    st.sampled_from(TOOL_NAMES),
    st.text(max_size=20),
    SURROGATES,
    st.just(Huge(100_000)),
    st.just("überweisung"),
)


@tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


@tool
def keep(value: Any = None) -> str:
    """Accept any JSON value and say what it was."""
    return type(value).__name__


REFS = ("#/$defs/n", "#", "#/$defs/missing", "https://example.com/s.json", "#/properties/a")


def ref_tool(ref: str) -> Tool:
    """A tool from an external schema with ``$ref`` pointing at ``ref`` (defined or not)."""
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": ref}, "b": {"type": "integer"}},
        "$defs": {"n": {"type": ["integer", "array"], "items": {"$ref": "#/$defs/n"}}},
    }
    return Tool.from_schema("refd", "A tool whose schema has a reference.", schema, lambda **kwargs: "ok")


def tools_for(ref: str) -> list[Tool]:
    """The tools of a hostile run; a bad ``$ref`` must be refused here, as the tool is defined."""
    try:
        return [echo, keep, ref_tool(ref)]
    except ToolDefinitionError as exc:
        assert ref not in ("#/$defs/n", "#", "#/properties/a"), exc  # only a bad reference is refused
        assert repr(ref)[:40] in str(exc) or ref[:40] in str(exc)
        return [echo, keep]


@contextmanager
def maybe_session(use: bool) -> Iterator[SQLiteSession | None]:
    if not use:
        yield None
        return
    with tempfile.TemporaryDirectory() as folder:
        session = SQLiteSession(Path(folder) / "sessions.db", "hostile")
        try:
            yield session
        finally:
            session.close()


def run_to_an_end(agent: Agent[Any, Any], *, stream: bool, session: SQLiteSession | None) -> Any:
    """The run's result, or the documented error it ended with. Anything else fails the test."""
    try:
        if stream:
            return asyncio.run(_streamed(agent, session))
        return agent.run("go", session=session)
    except EXPECTED_ENDINGS as exc:
        return exc


async def _streamed(agent: Agent[Any, Any], session: SQLiteSession | None) -> Any:
    final = None
    async for event in agent.run_stream("go", session=session):
        if isinstance(event, FinalOutput):
            final = event.result
    return final


def check_pairing(messages: list[Message]) -> None:
    """Every tool call has exactly one result, right after its assistant message."""
    for index, message in enumerate(messages):
        if isinstance(message, AssistantMessage) and message.tool_calls:
            ids = [call.id for call in message.tool_calls]
            results = messages[index + 1 : index + 1 + len(ids)]
            assert [m.tool_call_id for m in results if isinstance(m, ToolMessage)] == ids
            assert len(set(ids)) == len(ids)


def wire_json(value: Any) -> str:
    """``value`` as JSON text the way a lenient server writes it: NaN and Infinity as tokens, lone
    surrogates as escapes; values nested past ``json``'s recursion limit as bracket text."""
    try:
        return json.dumps(value)
    except (RecursionError, ValueError):
        depth = 0
        while isinstance(value, list) and value:
            value, depth = value[0], depth + 1
        return "[" * depth + "[]" + "]" * depth

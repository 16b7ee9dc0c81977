"""Property test: hostile tool calls and replies driven through the agent on the scripted backend.

Whatever the model sends (arguments nested thousands deep, lone surrogates, megabytes of text, NaN and
infinities, odd names and ids, dozens of calls at once, calls of a tool whose schema has a ``$ref``),
with or without a session, streamed or not, the run ends normally or with one of the documented errors
in ``tests.hostile.EXPECTED_ENDINGS``; no other exception escapes. When it ends normally every call has
exactly one result and each refused call's result is an error the model saw. The same classes of input
go over real HTTP in tests/integration/test_openai_hostile_replies.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import Agent, ToolCall
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.result import RunResult
from agentkit.testing import ScriptedBackend
from tests.hostile import (
    EXPECTED_ENDINGS,
    REFS,
    Huge,
    check_pairing,
    hostile_text,
    hostile_values,
    json_values,
    materialize,
    maybe_session,
    odd_names,
    run_to_an_end,
    tools_for,
)

ids = st.one_of(st.none(), st.text(min_size=1, max_size=10), st.just("dup"), st.just(Huge(50_000)))


@st.composite
def calls(draw: st.DrawFn, values: st.SearchStrategy[Any] = hostile_values) -> dict[str, Any]:
    """A call as a recipe (see tests.hostile.materialize): id, name and arguments."""
    keys = st.sampled_from(["text", "value", "a", "b", "\ud800"])
    return {
        "id": draw(ids),
        "name": draw(odd_names),
        "arguments": draw(st.dictionaries(keys, values, max_size=3)),
    }


def to_call(recipe: dict[str, Any]) -> ToolCall:
    fields = materialize(recipe)
    if fields["id"] is None:
        del fields["id"]
    return ToolCall(**fields)


# Every hostile reply calls tools (a reply without calls would be the final answer): 1 to 6 calls of any
# value, or 20 to 60 calls of small values at once.
replies = st.tuples(
    st.one_of(st.none(), hostile_text),
    st.one_of(
        st.lists(calls(), min_size=1, max_size=6), st.lists(calls(json_values), min_size=20, max_size=60)
    ),
)


@pytest.mark.slow
@settings(max_examples=60)
@given(
    script=st.lists(replies, min_size=1, max_size=3),
    ref=st.sampled_from(REFS),
    with_session=st.booleans(),
    stream=st.booleans(),
)
def test_hostile_replies_end_the_run_normally_or_with_a_documented_error(
    script: list[tuple[Any, list[dict[str, Any]]]], ref: str, with_session: bool, stream: bool
) -> None:
    replies = [
        AssistantMessage(content=materialize(content), tool_calls=[to_call(c) for c in recipes])
        for content, recipes in script
    ]
    backend = ScriptedBackend([*replies, "done"])
    agent = Agent(model=backend, tools=tools_for(ref), max_steps=len(script) + 1)
    with maybe_session(with_session) as session:
        outcome = run_to_an_end(agent, stream=stream, session=session)
        if session is not None:
            stored = session.load()  # whatever happened, the journal reads back
    if isinstance(outcome, EXPECTED_ENDINGS):
        return
    assert isinstance(outcome, RunResult)
    assert outcome.output == "done"
    check_pairing(outcome.messages)
    results = {m.tool_call_id: m for m in outcome.messages if isinstance(m, ToolMessage)}
    for message in outcome.messages:
        if isinstance(message, AssistantMessage):
            for call in message.tool_calls:
                if call.arguments_error is not None or call.name not in ("echo", "keep", "refd"):
                    assert results[call.id].is_error, (call, results[call.id])  # told, never run
    for request in backend.requests[1:]:
        assert isinstance(request.messages[-1], ToolMessage)  # each hostile step went back to the model
    if session is not None:
        assert len(stored) == len(outcome.messages), (stored, outcome.messages)

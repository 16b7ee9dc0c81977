"""Tool arguments and replies that once ended a run: each must go back to the model as a tool error.

Each test names the defect it pins (issue 12, "Tool arguments and replies that end the run instead of
going back to the model"); tests/unit/test_hostile_properties.py drives the whole class through the
agent, and tests/integration/test_openai_hostile_replies.py does it over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, Tool, ToolCall, ToolRegistry, messages, tool
from agentkit.backends.counting import EstimateCounter, call_text

try:  # new in this change: the tests below fail (AttributeError) where it is missing
    from agentkit import call_bounds
except ImportError:  # pragma: no cover - only on a checkout without it
    call_bounds = None  # type: ignore[assignment]
from agentkit.errors import ToolArgumentsError, ToolDefinitionError
from agentkit.messages import AssistantMessage, ToolMessage, parse_arguments
from agentkit.sessions import SQLiteSession
from agentkit.testing import ScriptedBackend


@tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


@tool
def keep(value: Any = None) -> str:
    """Accept any JSON value."""
    return "kept"


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def tool_results(messages: list[Any]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


# -- parse_arguments is total ---------------------------------------------------------------------


def test_parse_arguments_of_brackets_nested_5000_deep_is_an_error_not_a_recursion_error() -> None:
    arguments, error = parse_arguments('{"a":' + "[" * 5000 + "]" * 5000 + "}")
    assert arguments == {}
    assert error is not None and f"deeper than {messages.MAX_ARGUMENT_DEPTH} levels" in error


def test_parse_arguments_refuses_valid_json_nested_past_the_limit() -> None:
    depth = messages.MAX_ARGUMENT_DEPTH + 5  # json.loads reads it; every encoder after it would not write it
    arguments, error = parse_arguments('{"a":' + "[" * depth + "]" * depth + "}")
    assert arguments == {} and error is not None and "deeper than" in error
    fine, no_error = parse_arguments('{"a":' + "[" * 50 + "]" * 50 + "}")
    assert no_error is None and "a" in fine


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([1, 2], "must be a JSON object, got list"),
        (5, "must be a JSON object, got int"),
        (True, "must be a JSON object, got bool"),
        ("[" * 300, "not valid JSON"),  # broken and deep: not read leniently
        ('{"a": "' + "x" * 200_000, "not valid JSON"),  # broken and long: reported, not repaired
    ],
)
def test_parse_arguments_turns_any_input_into_an_error_for_the_model(raw: object, expected: str) -> None:
    arguments, error = parse_arguments(raw)
    assert arguments == {}
    assert error is not None and expected in error


def test_an_integer_too_long_to_read_is_not_an_exception() -> None:
    # json.loads raises ValueError (not JSONDecodeError) past 4,300 digits; the lenient reader keeps text.
    arguments, error = parse_arguments('{"x": ' + "9" * 5000 + "}")
    assert error is None and arguments == {"x": "9" * 5000}


def test_parse_arguments_keeps_nan_and_lone_surrogates() -> None:
    arguments, error = parse_arguments('{"x": NaN, "y": "a\\ud800b"}')
    assert error is None
    assert math.isnan(arguments["x"]) and arguments["y"] == "a\ud800b"


# -- validation and execution never raise for the model's input -------------------------------------


def test_arguments_nested_10000_deep_get_a_tool_error_not_a_recursion_error() -> None:
    registry = ToolRegistry([echo])
    call = ToolCall(name="echo", arguments={"text": nested(10_000)})
    result = asyncio.run(registry.execute(call))
    assert result.is_error and isinstance(result.error, ToolArgumentsError)
    assert "parameter 'text'" in result.content and len(result.content) < 1000


def test_execute_turns_an_unexpected_validation_failure_into_a_tool_error() -> None:
    def explode(arguments: dict[str, Any]) -> dict[str, Any]:
        raise RecursionError("maximum recursion depth exceeded")

    broken = Tool("broken", "d", {"type": "object", "properties": {}}, lambda: "x", validate=explode)
    result = asyncio.run(ToolRegistry([broken]).execute(ToolCall(name="broken")))
    assert result.is_error and isinstance(result.error, ToolArgumentsError)
    assert "could not be checked (RecursionError" in result.content


def test_cancellation_still_propagates_from_execute() -> None:
    @tool
    async def slow() -> str:
        """Sleep."""
        await asyncio.sleep(10)
        return "late"

    async def main() -> None:
        task = asyncio.ensure_future(ToolRegistry([slow]).execute(ToolCall(name="slow")))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_json_schema_validation_of_arguments_too_deep_for_jsonschema_is_a_tool_error() -> None:
    recursive = Tool.from_schema(
        "tree",
        "A tree.",
        {
            "type": "object",
            "properties": {"node": {"$ref": "#/$defs/node"}},
            "$defs": {"node": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        },
        lambda **kwargs: "ok",
    )
    result = asyncio.run(
        ToolRegistry([recursive]).execute(ToolCall(name="tree", arguments={"node": nested(5000)}))
    )
    assert result.is_error and isinstance(result.error, ToolArgumentsError)


# -- a schema whose $ref points nowhere is refused when the tool is defined ---------------------------


def test_a_schema_with_a_ref_to_a_missing_definition_is_refused_naming_the_ref() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}
    with pytest.raises(ToolDefinitionError, match="'#/\\$defs/missing'"):
        Tool.from_schema("bad", "A bad tool.", schema, lambda **kwargs: "x")


@pytest.mark.parametrize(
    "schema",
    [
        {
            "type": "object",
            "properties": {"default": {"$ref": "#/definitions/nothing"}},
        },  # a property named like a keyword
        {
            "type": "object",
            "properties": {"a": {"$ref": "https://example.com/schemas/a.json"}},
        },  # never fetched
        {
            "type": "object",
            "properties": {"a": {"$id": "https://x.test/a", "$ref": "#/$defs/d"}},
            "$defs": {"d": {}},
        },
    ],
)
def test_other_unresolvable_refs_are_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(ToolDefinitionError, match="does not define"):
        Tool.from_schema("bad", "A bad tool.", schema, lambda **kwargs: "x")


def test_resolvable_refs_are_accepted_and_validate() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/n"}, "b": {"enum": [{"$ref": "not a reference: data"}]}},
        "$defs": {"n": {"type": "integer"}},
    }
    defined = Tool.from_schema("ok", "Fine.", schema, lambda **kwargs: "x")
    assert defined.validate({"a": 1}) == {"a": 1}
    with pytest.raises(ToolArgumentsError, match="parameter 'a'"):
        defined.validate({"a": "one"})


def test_a_schema_nested_too_deep_to_check_is_refused_not_a_crash() -> None:
    inner: dict[str, Any] = {}
    for _ in range(3000):
        inner = {"items": inner}
    with pytest.raises(ToolDefinitionError, match="tool 'deep'"):
        Tool.from_schema(
            "deep", "Deep.", {"type": "object", "properties": {"a": inner}}, lambda **kwargs: "x"
        )


# -- token counting of any arguments --------------------------------------------------------------


@pytest.mark.parametrize("arguments", [{"x": "a\ud800b"}, {"x": nested(300)}, {"x": nested(3000)}])
def test_call_text_measures_arguments_no_json_encoder_writes(arguments: dict[str, Any]) -> None:
    call = ToolCall(name="keep", arguments=arguments)
    assert len(call_text(call)) >= len("keep")
    assert EstimateCounter().count_message(AssistantMessage(tool_calls=[call])) > 0


# -- calls too large for the context window are refused as they arrive ------------------------------


class Budget:
    """A stand-in for the two attributes of ContextWindow that bound_tool_calls reads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counter = EstimateCounter()


def test_small_calls_pass_through_unchanged_and_uncounted() -> None:
    message = AssistantMessage(tool_calls=[ToolCall(name="echo", arguments={"text": "hi"})])
    assert call_bounds.bound_tool_calls(message, Budget(1000)) is message
    assert call_bounds.bound_tool_calls(message) is message


def test_megabytes_of_arguments_keep_the_id_and_become_a_marker_with_an_error() -> None:
    call = ToolCall(id="call_big", name="echo", arguments={"text": "a" * 3_000_000})
    (bounded,) = call_bounds.bound_tool_calls(AssistantMessage(tool_calls=[call]), Budget(6000)).tool_calls
    assert bounded.id == "call_big" and bounded.name == "echo"
    assert bounded.arguments_error is not None and "too large" in bounded.arguments_error
    assert len(json.dumps(bounded.arguments)) < 200 and "not_kept" in bounded.arguments


def test_without_a_window_a_fixed_character_bound_still_applies() -> None:
    call = ToolCall(name="echo", arguments={"text": "a" * 2_000_000})
    (bounded,) = call_bounds.bound_tool_calls(AssistantMessage(tool_calls=[call])).tool_calls
    assert bounded.arguments_error is not None


def test_an_absurd_name_and_id_become_short_markers() -> None:
    call = ToolCall(id="i" * 100_000, name="e" * 100_000)
    (bounded,) = call_bounds.bound_tool_calls(AssistantMessage(tool_calls=[call])).tool_calls
    assert len(bounded.name) < 100 and "100000 characters" in bounded.name
    assert len(bounded.id) < 100


def test_the_calls_of_one_reply_share_the_budget_in_order() -> None:
    calls = [ToolCall(id=f"c{i}", name="echo", arguments={"text": "w " * 1500}) for i in range(10)]
    bounded = call_bounds.bound_tool_calls(AssistantMessage(tool_calls=calls), Budget(6000)).tool_calls
    kept = [c for c in bounded if c.arguments_error is None]
    assert [c.id for c in bounded] == [c.id for c in calls]  # every call keeps its place and id
    assert 0 < len(kept) < len(calls)
    assert kept == bounded[: len(kept)]  # the first ones fit, the rest were refused


def test_different_refused_calls_stay_distinct_and_equal_ones_equal() -> None:
    first, second, again = (
        ToolCall(name="echo", arguments={"text": nested(200)}),
        ToolCall(name="echo", arguments={"text": nested(300)}),
        ToolCall(name="echo", arguments={"text": nested(200)}),
    )
    a, b, c = call_bounds.bound_tool_calls(AssistantMessage(tool_calls=[first, second, again])).tool_calls
    assert a.arguments != b.arguments and a.arguments == c.arguments


def test_non_json_values_from_a_scripted_reply_are_refused() -> None:
    calls = [
        ToolCall(name="keep", arguments={"value": {1: "int key"}}),
        ToolCall(name="keep", arguments={"value": object()}),
        ToolCall(name="keep", arguments={"value": 10**5000}),
    ]
    bounded = call_bounds.bound_tool_calls(AssistantMessage(tool_calls=calls)).tool_calls
    assert all(call.arguments_error for call in bounded)


# -- through the agent: the run goes on and the model is told --------------------------------------


@pytest.mark.parametrize("with_session", [False, True])
@pytest.mark.parametrize(
    ("call", "told"),
    [
        (ToolCall(name="keep", arguments={"value": nested(10_000)}), "deeper than"),
        (ToolCall(name="keep", arguments={"value": nested(300)}), "deeper than"),
        (ToolCall(name="echo", arguments={"text": "a" * 3_000_000}), "too large"),
        (ToolCall(name="e" * 100_000), "Unknown tool"),
    ],
    ids=["nested-10000", "nested-300", "3MB", "100k-name"],
)
def test_the_run_goes_on_and_the_model_gets_a_tool_error(
    call: ToolCall, told: str, with_session: bool, tmp_path: Path
) -> None:
    backend = ScriptedBackend([call, "done"])
    session = SQLiteSession(tmp_path / "s.db", "s") if with_session else None
    result = Agent(model=backend, tools=[echo, keep]).run("go", session=session)
    assert result.output == "done"
    (answer,) = tool_results(result.messages)
    assert answer.is_error and told in answer.content
    assert backend.requests[1].messages[-1] == answer  # the model saw it
    if session is not None:
        assert len(session.load()) == len(result.messages)


@pytest.mark.parametrize("with_session", [False, True])
def test_a_lone_surrogate_in_arguments_reaches_the_tool_and_the_run_ends_normally(
    with_session: bool, tmp_path: Path
) -> None:
    backend = ScriptedBackend([ToolCall(name="echo", arguments={"text": "a\ud800b"}), "done"])
    session = SQLiteSession(tmp_path / "s.db", "s") if with_session else None
    result = Agent(model=backend, tools=[echo]).run("go", session=session)
    (answer,) = tool_results(result.messages)
    assert answer.content == "a\ud800b" and not answer.is_error


def test_59_hostile_calls_in_one_step_each_get_a_result() -> None:
    calls = [ToolCall(id=f"c{i}", name="keep", arguments={"value": nested(i * 7)}) for i in range(59)]
    backend = ScriptedBackend([calls, "done"], context_window=65_536)
    result = Agent(model=backend, tools=[keep]).run("go")
    results = tool_results(result.messages)
    assert [r.tool_call_id for r in results] == [c.id for c in calls]
    too_deep = [i for i in range(59) if i * 7 + 2 > messages.MAX_ARGUMENT_DEPTH]
    assert [i for i, r in enumerate(results) if r.is_error] == too_deep


def test_more_calls_than_a_small_window_can_answer_keeps_the_first_and_says_so() -> None:
    calls = [ToolCall(id=f"c{i}", name="keep", arguments={"value": i}) for i in range(59)]
    backend = ScriptedBackend([calls, "done"], context_window=8192)
    result = Agent(model=backend, tools=[keep]).run("go")
    assert result.output == "done"
    reply = next(m for m in result.messages if isinstance(m, AssistantMessage) and m.tool_calls)
    kept = len(reply.tool_calls)
    assert 10 < kept < 59 and [c.id for c in reply.tool_calls] == [f"c{i}" for i in range(kept)]
    assert reply.content is not None and f"{59 - kept} more tool calls" in reply.content
    assert len(tool_results(result.messages)) == kept


def test_a_tool_with_a_bad_ref_never_reaches_a_run() -> None:
    with pytest.raises(ToolDefinitionError):
        Agent(
            model=ScriptedBackend(["done"]),
            tools=[
                Tool.from_schema(
                    "bad", "d", {"type": "object", "properties": {"a": {"$ref": "#/x"}}}, lambda **k: 1
                )
            ],
        )


def test_an_id_reused_in_a_later_turn_gets_a_fresh_one_so_the_session_keeps_both_results(
    tmp_path: Path,
) -> None:
    # Some servers number calls call_0, call_1 afresh each turn; a session keeps one result per id.
    turn = AssistantMessage(tool_calls=[ToolCall(id="call_0", name="echo", arguments={"text": "x"})])
    backend = ScriptedBackend([turn, turn, "done"])
    session = SQLiteSession(tmp_path / "s.db", "s")
    result = Agent(model=backend, tools=[echo]).run("go", session=session)
    first, second = (m for m in result.messages if isinstance(m, AssistantMessage) and m.tool_calls)
    assert first.tool_calls[0].id == "call_0" and second.tool_calls[0].id != "call_0"
    assert session.load() == result.messages

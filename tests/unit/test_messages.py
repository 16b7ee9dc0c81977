from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkit.backends.openai import from_openai, to_openai
from agentkit.messages import (
    AssistantMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
    dump_messages,
    load_messages,
    parse_arguments,
)

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
tool_calls = st.builds(
    ToolCall,
    id=st.text(min_size=1, max_size=10),
    name=st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
    arguments=st.dictionaries(st.text(max_size=5), json_values, max_size=3),
)
messages = st.one_of(
    st.builds(SystemMessage, content=st.text()),
    st.builds(UserMessage, content=st.text()),
    st.builds(AssistantMessage, content=st.none() | st.text(), tool_calls=st.lists(tool_calls, max_size=3)),
    st.builds(
        ToolMessage,
        tool_call_id=st.text(min_size=1),
        name=st.text(),
        content=st.text(),
        is_error=st.booleans(),
    ),
)


@given(st.lists(messages, max_size=6))
def test_json_round_trip_is_lossless(conversation: list) -> None:
    assert load_messages(dump_messages(conversation)) == conversation


@given(st.lists(messages, max_size=6))
def test_openai_round_trip_keeps_roles_content_and_calls(conversation: list) -> None:
    for message in conversation:
        back = from_openai(json.loads(json.dumps(to_openai(message))))
        if isinstance(message, ToolMessage):
            # OpenAI tool messages have no error flag: the text is what the model reads
            assert back == message.model_copy(update={"is_error": False})
        else:
            assert back == message


def test_assistant_tool_calls_in_openai_format() -> None:
    message = AssistantMessage(tool_calls=[ToolCall(id="call_1", name="add", arguments={"a": 1})])
    assert to_openai(message) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1}'}}
        ],
    }


def test_from_openai_repairs_sloppy_arguments() -> None:
    message = from_openai(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{'a': 1,}"}}
            ],
        }
    )
    assert isinstance(message, AssistantMessage)
    assert message.tool_calls[0].arguments == {"a": 1}
    assert message.tool_calls[0].arguments_error is None


def test_from_openai_keeps_unrepairable_arguments_with_an_error() -> None:
    message = from_openai(
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1, 2]"}}
            ],
        }
    )
    assert isinstance(message, AssistantMessage)
    call = message.tool_calls[0]
    assert call.arguments == {}
    assert call.arguments_error is not None and "JSON object" in call.arguments_error
    # the raw text survives so the conversation can be sent back as it was
    assert to_openai(message)["tool_calls"][0]["function"]["arguments"] == "[1, 2]"


@pytest.mark.parametrize("raw", ["not json at all", '{"a": '])
def test_parse_arguments_reports_garbage(raw: str) -> None:
    arguments, error = parse_arguments(raw)
    if error is None:  # the lenient reader may complete a truncated object; then it must be a dict
        assert isinstance(arguments, dict)
    else:
        assert arguments == {}
        assert raw[:5] in error


def test_parse_arguments_accepts_empty_and_dicts() -> None:
    assert parse_arguments("") == ({}, None)
    assert parse_arguments(None) == ({}, None)
    assert parse_arguments({"x": 1}) == ({"x": 1}, None)


def test_from_openai_content_parts_and_developer_role() -> None:
    user = from_openai(
        {"role": "user", "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]}
    )
    assert user == UserMessage(content="hi there")
    assert from_openai({"role": "developer", "content": "rules"}) == SystemMessage(content="rules")


def test_from_openai_rejects_unknown_role() -> None:
    with pytest.raises(ValueError, match="unknown message role 'robot'"):
        from_openai({"role": "robot", "content": "x"})


def test_usage_adds_up() -> None:
    total = Usage(input_tokens=3, output_tokens=2, requests=1) + Usage(
        input_tokens=1, output_tokens=1, requests=1
    )
    assert (total.input_tokens, total.output_tokens, total.requests, total.total_tokens) == (4, 3, 2, 7)

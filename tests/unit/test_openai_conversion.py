"""The OpenAI backend's pure parts: payload conversion, stream assembly, error translation, model
strings and configuration checks. No network."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit.backends import ModelRequest, ModelSettings
from agentkit.backends.openai import OpenAIBackend, split_model_string
from agentkit.backends.openai.convert import (
    effective_tool_choice,
    final_answer_tool,
    lift_final_answer,
    parse_tool_calls,
    settings_params,
    wire_messages,
)
from agentkit.backends.openai.errors import scrub
from agentkit.backends.openai.streaming import Delivered, StreamAssembler
from agentkit.backends.openai.textmode import rewrite
from agentkit.errors import ConfigurationError
from agentkit.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage


def test_wire_messages_keep_ids_and_raw_arguments() -> None:
    broken = ToolCall(id="call_x", name="f", raw_arguments="{oops", arguments_error="bad")
    good = ToolCall(id="call_y", name="g", arguments={"a": 1})
    wire = wire_messages(
        [
            AssistantMessage(tool_calls=[broken, good]),
            ToolMessage(tool_call_id="call_x", name="f", content="error", is_error=True),
        ]
    )
    assert wire[0]["content"] == ""
    assert [c["id"] for c in wire[0]["tool_calls"]] == ["call_x", "call_y"]
    assert wire[0]["tool_calls"][0]["function"]["arguments"] == "{oops"
    assert json.loads(wire[0]["tool_calls"][1]["function"]["arguments"]) == {"a": 1}
    assert wire[1] == {"role": "tool", "tool_call_id": "call_x", "content": "error"}


def test_parse_tool_calls_repairs_flags_and_dedupes_ids() -> None:
    calls = parse_tool_calls(
        [
            {"id": "a", "function": {"name": "f", "arguments": '{"x": 1,}'}},
            {"id": "a", "function": {"name": "f", "arguments": "nonsense"}},
            {"function": {"name": "g", "arguments": ""}},
        ]
    )
    assert calls[0].arguments == {"x": 1} and calls[0].arguments_error is None
    assert calls[1].arguments_error and calls[1].raw_arguments == "nonsense" and calls[1].id != "a"
    assert calls[2].id.startswith("call_") and calls[2].arguments == {}


def request(*messages: Any, choice: str = "auto") -> ModelRequest:
    return ModelRequest(messages=messages, tool_choice=choice)


def test_forced_choice_resets_only_after_a_tool_result_in_this_turn() -> None:
    call = ToolCall(id="c", name="f")
    done = [
        UserMessage(content="q"),
        AssistantMessage(tool_calls=[call]),
        ToolMessage(tool_call_id="c", name="f", content="r"),
    ]
    assert effective_tool_choice(request(*done, choice="f"), reset_after_tool_result=True) == "auto"
    assert effective_tool_choice(request(*done, choice="f"), reset_after_tool_result=False) == "f"
    fresh = [*done, UserMessage(content="again")]
    assert (
        effective_tool_choice(request(*fresh, choice="required"), reset_after_tool_result=True) == "required"
    )
    assert effective_tool_choice(request(*done, choice="none"), reset_after_tool_result=True) == "none"


def test_settings_map_to_params_and_extra_body() -> None:
    params, extra = settings_params(
        ModelSettings(temperature=0.2, max_tokens=9, stop=("x",), seed=1, top_k=5, extra={"min_p": 0.1})
    )
    assert params == {"temperature": 0.2, "max_tokens": 9, "stop": ["x"], "seed": 1}
    assert extra == {"top_k": 5, "min_p": 0.1}


def test_final_answer_tool_and_lifting() -> None:
    obj = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert final_answer_tool(obj).parameters is obj
    wrapped = final_answer_tool({"type": "array"}).parameters
    assert wrapped["required"] == ["value"]
    answer = AssistantMessage(tool_calls=[ToolCall(name="final_answer", arguments={"n": 3})])
    assert lift_final_answer(answer, obj).content == '{"n": 3}'
    listed = AssistantMessage(tool_calls=[ToolCall(name="final_answer", arguments={"value": [1]})])
    assert lift_final_answer(listed, {"type": "array"}).content == "[1]"
    mixed = AssistantMessage(tool_calls=[ToolCall(name="f"), ToolCall(name="final_answer")])
    assert [c.name for c in lift_final_answer(mixed, obj).tool_calls] == ["f"]


def test_stream_assembler_groups_fragments_by_index_id_or_position() -> None:
    assembler = StreamAssembler()
    deltas = [
        {"choices": [{"index": 0, "delta": {"content": "Hi "}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x"'}}
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": ": 1}"}}
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "{}"}}]},
                }
            ]
        },
        {"choices": [{"index": 1, "delta": {"content": "ignored second choice"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}], "model": "m"},
        {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}},
    ]
    pieces = [assembler.add(d) for d in deltas]
    assert pieces[0] == "Hi " and all(p == "" for p in pieces[1:])
    response = assembler.response()
    assert response.message.content == "Hi "
    assert [(c.id, c.name, c.arguments) for c in response.message.tool_calls] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {}),
    ]
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.requests) == (4, 2, 1)
    assert response.finish_reason == "tool_calls" and response.model == "m"


def test_text_mode_rewrite_has_no_tool_roles_and_alternates() -> None:
    call = ToolCall(id="c1", name="add", arguments={"a": 1})
    messages = rewrite(
        [
            SystemMessage(content="sys"),
            UserMessage(content="q"),
            AssistantMessage(tool_calls=[call, ToolCall(id="c2", name="add", arguments={"a": 2})]),
            ToolMessage(tool_call_id="c1", name="add", content="1"),
            ToolMessage(tool_call_id="c2", name="add", content="boom", is_error=True),
        ],
        "TOOLS HERE",
    )
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == "sys\n\nTOOLS HERE"
    assert messages[2]["content"].count("<tool_call>") == 2
    assert 'call_id="c1"' in messages[3]["content"] and "<tool_error" in messages[3]["content"]


def test_scrub_removes_the_key_and_its_long_prefixes() -> None:
    key = "sk-proj-abcdefghijklmnop"
    text = f"bad key {key}, also {key[:12]}*** and sk-other"
    cleaned = scrub(text, key)
    assert key not in cleaned and key[:12] not in cleaned and "sk-other" in cleaned
    assert scrub("nothing", None) == "nothing"


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("gpt-4o-mini", ("gpt-4o-mini", None)),
        ("qwen@http://127.0.0.1:8080/v1", ("qwen", "http://127.0.0.1:8080/v1")),
        ("org/model@v2@https://host/v1", ("org/model@v2", "https://host/v1")),
    ],
)
def test_split_model_string(rest: str, expected: tuple[str, str | None]) -> None:
    assert split_model_string(rest) == expected


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
    with pytest.raises(ConfigurationError, match="http"):
        OpenAIBackend("m", base_url="localhost:8080/v1")
    with pytest.raises(ConfigurationError, match="tool_mode"):
        OpenAIBackend("m", base_url="http://h/v1", tool_mode="json")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="timeout"):
        OpenAIBackend("m", base_url="http://h/v1", timeout=0)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1234/v1/")
    local = OpenAIBackend("m")  # a local server needs no key
    assert local.base_url == "http://127.0.0.1:1234/v1" and local.name == "openai:m"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-1234")
    assert "sk-secret" not in repr(OpenAIBackend("m"))


def test_delivered_resumes_a_matching_replay_and_stops_on_divergence() -> None:
    delivered = Delivered()
    delivered.start_attempt()
    assert [delivered.accept(p) for p in ["The ", "quick "]] == ["The ", "quick "]
    delivered.start_attempt()  # retried: the server replays from the start in other chunk sizes
    assert [delivered.accept(p) for p in ["Th", "e qu", "ick brown", " fox"]] == ["", "", "brown", " fox"]
    assert delivered.text == "The quick brown fox"
    delivered.start_attempt()
    assert delivered.accept("A different reply") == "" and delivered.diverged
    assert delivered.accept(" and more") == "" and delivered.text == "The quick brown fox"

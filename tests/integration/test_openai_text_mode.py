"""Text-mode tool calls (instructions in the prompt, calls parsed from the reply) and the ``auto``
mode's fallbacks, over real HTTP to a local fake server."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, tool
from agentkit.backends.openai import OpenAIBackend
from agentkit.events import FinalOutput, ModelTextDelta
from agentkit.retry import RetryPolicy
from tests.integration.fake_openai_server import (
    Reply,
    Stream,
    completion,
    error,
    serving,
    text_stream,
    tool_call,
)

pytestmark = pytest.mark.timeout(30)

CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def backend(url: str, **kwargs: Any) -> OpenAIBackend:
    return OpenAIBackend("fake-model", base_url=url, retry=RetryPolicy(initial_backoff=0.01), **kwargs)


def sent(server: Any, index: int) -> dict[str, Any]:
    body = server.chat_requests[index].body
    assert body is not None
    return dict(body)


async def test_text_mode_puts_instructions_in_the_prompt_and_parses_the_reply() -> None:
    script = [Reply(body=completion(f"Let me add.\n{CALL}")), Reply(body=completion("2 + 3 = 5"))]
    with serving(script) as server:
        result = await Agent(model=backend(server.base_url, tool_mode="text"), tools=[add]).arun("2+3?")
    assert result.output == "2 + 3 = 5"
    first, second = sent(server, 0), sent(server, 1)
    assert "tools" not in first and "tool_choice" not in first
    system = first["messages"][0]
    assert system["role"] == "system" and "<tool_call>" in system["content"] and '"add"' in system["content"]
    # The earlier call is shown back as text, its result as a user message naming the call.
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert '"name": "add"' in second["messages"][2]["content"]
    result_text = second["messages"][3]["content"]
    assert "5" in result_text and 'name="add"' in result_text
    call = result.messages[2].tool_calls[0]  # type: ignore[union-attr]
    assert call.arguments == {"a": 2, "b": 3}
    assert result.messages[3].tool_call_id == call.id  # type: ignore[union-attr]


async def test_text_mode_forced_choice_is_said_in_the_prompt() -> None:
    with serving([Reply(body=completion(CALL)), Reply(body=completion("5"))]) as server:
        b = backend(server.base_url, tool_mode="text")
        await Agent(model=b, tools=[add], tool_choice="add").arun("2+3?")
    assert 'You must call the tool "add"' in sent(server, 0)["messages"][0]["content"]
    assert "You must call" not in sent(server, 1)["messages"][0]["content"]  # reset after the result


async def test_text_mode_streaming_holds_back_markup_and_streams_the_answer() -> None:
    with serving([Stream(text_stream(f"Adding now. {CALL}")), Stream(text_stream("It is 5."))]) as server:
        agent = Agent(model=backend(server.base_url, tool_mode="text"), tools=[add])
        events = [event async for event in agent.run_stream("2+3?")]
    deltas = [e.text for e in events if isinstance(e, ModelTextDelta)]
    assert all("<tool_call>" not in d for d in deltas)
    assert "".join(deltas) == "Adding now.It is 5."
    final = events[-1]
    assert isinstance(final, FinalOutput) and final.result.output == "It is 5."


async def test_auto_mode_falls_back_to_text_when_the_server_rejects_tools() -> None:
    script = [
        error(400, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'),
        Reply(body=completion(CALL)),
        Reply(body=completion("5")),
    ]
    with serving(script) as server:
        b = backend(server.base_url)  # tool_mode="auto"
        result = await Agent(model=b, tools=[add]).arun("2+3?")
    assert result.output == "5"
    assert "tools" in sent(server, 0)
    assert "tools" not in sent(server, 1) and "tools" not in sent(server, 2)
    assert result.messages[3].content == "5"  # the tool ran on the parsed call


async def test_auto_mode_parses_calls_a_model_wrote_as_text_despite_native_tools() -> None:
    script = [Reply(body=completion(CALL)), Reply(body=completion("5"))]
    with serving(script) as server:
        result = await Agent(model=backend(server.base_url), tools=[add]).arun("2+3?")
    assert result.output == "5"
    assert "tools" in sent(server, 1)  # still native: the server accepted tools
    assert sent(server, 1)["messages"][-1]["role"] == "tool"


async def test_native_mode_leaves_text_alone() -> None:
    with serving([Reply(body=completion(CALL))]) as server:
        result = await Agent(model=backend(server.base_url, tool_mode="native"), tools=[add]).arun("2+3?")
    assert result.output == CALL
    assert len(server.chat_requests) == 1


async def test_native_mode_does_not_fall_back_when_tools_are_rejected() -> None:
    from agentkit.backends.openai import BadRequestError

    rejected = pytest.raises(BadRequestError, match="does not support tools")
    with serving([error(400, "this model does not support tools")]) as server, rejected:
        await Agent(model=backend(server.base_url, tool_mode="native"), tools=[add]).arun("x")
    assert len(server.chat_requests) == 1


async def test_native_tool_calls_are_kept_in_auto_mode() -> None:
    script = [
        Reply(body=completion(None, [tool_call("call_n", "add", {"a": 1, "b": 1})])),
        Reply(body=completion("2")),
    ]
    with serving(script) as server:
        result = await Agent(model=backend(server.base_url), tools=[add]).arun("1+1?")
    assert result.output == "2"
    assert sent(server, 1)["messages"][-1] == {"role": "tool", "tool_call_id": "call_n", "content": "2"}


async def test_a_context_overflow_mentioning_tools_is_not_taken_for_a_tools_rejection() -> None:
    from agentkit.backends.openai import BadRequestError

    overflow = (
        "This model's maximum context length is 2048 tokens. However, your messages resulted in "
        "2300 tokens (2100 in the messages, 200 in the tools)."
    )
    with serving([error(400, overflow)]) as server, pytest.raises(BadRequestError, match="context length"):
        await Agent(model=backend(server.base_url), tools=[add]).arun("x")
    assert len(server.chat_requests) == 1

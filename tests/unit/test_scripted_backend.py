from __future__ import annotations

import asyncio

import pytest

from agentkit.backends import ModelRequest, ModelResponse, TextDelta
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.testing import ScriptedBackend, ScriptExhaustedError, call


def request(text: str = "hi") -> ModelRequest:
    return ModelRequest(messages=(UserMessage(content=text),))


def test_replays_in_order_and_records_requests() -> None:
    backend = ScriptedBackend([call("add", a=1), "done", AssistantMessage(content="x")])

    async def go() -> list[ModelResponse]:
        return [await backend.complete(request(str(i))) for i in range(3)]

    first, second, third = asyncio.run(go())
    assert first.message.tool_calls[0].name == "add" and first.finish_reason == "tool_calls"
    assert second.message.content == "done" and second.finish_reason == "stop"
    assert third.message.content == "x"
    assert [r.messages[0].content for r in backend.requests] == ["0", "1", "2"]
    backend.assert_used_up()


def test_exhausted_script_raises_a_clear_error() -> None:
    backend = ScriptedBackend(["only one"])

    async def go() -> None:
        await backend.complete(request())
        await backend.complete(request())

    with pytest.raises(ScriptExhaustedError, match="response #2 but the script has only 1"):
        asyncio.run(go())


def test_assert_used_up_fails_when_responses_remain() -> None:
    backend = ScriptedBackend(["a", "b"])
    asyncio.run(backend.complete(request()))
    with pytest.raises(AssertionError, match="1 of 2 scripted responses were not used"):
        backend.assert_used_up()


def test_function_script_sees_the_request_and_may_be_async() -> None:
    async def reply(req: ModelRequest) -> str:
        return f"echo: {req.messages[-1].content}"

    backend = ScriptedBackend(reply)
    response = asyncio.run(backend.complete(request("ping")))
    assert response.message.content == "echo: ping"


def test_scripted_exceptions_are_raised() -> None:
    backend = ScriptedBackend([ConnectionError("down")])
    with pytest.raises(ConnectionError, match="down"):
        asyncio.run(backend.complete(request()))


def test_stream_splits_text_and_ends_with_the_response() -> None:
    backend = ScriptedBackend(["one two  three"])

    async def go() -> list:
        return [chunk async for chunk in backend.stream(request())]

    chunks = asyncio.run(go())
    deltas = [c.text for c in chunks if isinstance(c, TextDelta)]
    assert len(deltas) == 3 and "".join(deltas) == "one two  three"
    assert isinstance(chunks[-1], ModelResponse)

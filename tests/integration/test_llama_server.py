"""The OpenAI backend against a real OpenAI-compatible server: llama-cpp-python's, serving the
embedded SmolLM2-135M GGUF. The tests start the server on a free port and always stop it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentkit import Agent, tool
from agentkit.backends import ModelSettings
from agentkit.backends.local.files import embedded_gguf
from agentkit.backends.openai import forget_server_features
from agentkit.errors import MaxStepsExceeded
from agentkit.events import FinalOutput, ModelTextDelta, ToolCallFinished
from agentkit.messages import AssistantMessage, ToolMessage
from benchmarks.localbench.server import llama_server as start_llama_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@contextlib.contextmanager
def running_server(log_dir: Path, *extra: str) -> Iterator[str]:
    """llama-cpp-python's server on a free port, serving the embedded GGUF; always stopped."""
    with start_llama_server(
        embedded_gguf(), n_ctx=2048, log=log_dir / "server.log", extra=extra, ready_within=120
    ) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("llama")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def function_calling_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server with ``--chat_format chatml-function-calling``, which cannot stream with tools."""
    with running_server(
        tmp_path_factory.mktemp("llama-fc"), "--chat_format", "chatml-function-calling"
    ) as url:
        yield url


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: the first factor
        b: the second factor
    """
    return a * b


def agent(base_url: str) -> Agent[str, None]:
    return Agent(
        model=f"openai:smollm2@{base_url}",
        tools=[multiply],
        tool_choice="multiply",
        settings=ModelSettings(temperature=0.0, max_tokens=48, seed=7),
        max_steps=4,
    )


def check_tool_round_trip(messages: list[object]) -> None:
    calls = [c for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert calls and calls[0].name == "multiply" and calls[0].arguments_error is None
    assert [r.tool_call_id for r in results] == [c.id for c in calls]
    first = results[0]
    assert not first.is_error
    assert first.content == str(calls[0].arguments["a"] * calls[0].arguments["b"])


def test_forced_tool_call_then_final_answer(llama_server: str) -> None:
    result = agent(llama_server).run("What is 6 times 7?")
    check_tool_round_trip(result.messages)
    assert result.stop_reason == "final_answer"
    assert isinstance(result.output, str) and result.output.strip()
    assert result.usage.requests == result.steps >= 2
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0


async def test_forced_tool_call_then_final_answer_streaming(llama_server: str) -> None:
    events = [event async for event in agent(llama_server).run_stream("What is 6 times 7?")]
    final = events[-1]
    assert isinstance(final, FinalOutput)
    check_tool_round_trip(final.result.messages)
    assert any(isinstance(e, ToolCallFinished) and not e.result.is_error for e in events)
    streamed = "".join(e.text for e in events if isinstance(e, ModelTextDelta))
    assert streamed and streamed == final.result.output
    # llama-cpp-python's server sends no usage in streams (it ignores stream_options): requests only.
    assert final.result.usage.requests == final.result.steps >= 2


class Product(BaseModel):
    value: int


def retry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]


def test_structured_output_falls_back_after_one_500_and_remembers_it_per_url(
    llama_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    # llama-cpp-python answers response_format json_schema with HTTP 500 ("Input should be 'text' or
    # 'json_object'"): one try, then a final-answer tool (grammar-constrained by the server).
    forget_server_features(llama_server)
    settings = ModelSettings(temperature=0.0, max_tokens=32, seed=7)
    with caplog.at_level(logging.WARNING, "agentkit"):
        first = Agent(f"openai:smollm2@{llama_server}", output_type=Product, settings=settings).run(
            "6 times 7?"
        )
        rejected = [r.getMessage() for r in caplog.records if "rejected response_format" in r.getMessage()]
        second = Agent(f"openai:smollm2@{llama_server}", output_type=Product, settings=settings).run(
            "2 times 3?"
        )
    assert isinstance(first.output, Product) and isinstance(second.output, Product)
    assert len(rejected) == 1  # the first backend probed once; the second knew
    assert [
        r.getMessage() for r in caplog.records if "rejected response_format" in r.getMessage()
    ] == rejected
    assert retry_warnings(caplog) == []  # the 500 was never retried
    assert first.usage.requests == 1 and second.usage.requests == 1


async def test_streaming_with_tools_where_the_server_cannot_falls_back_to_whole_replies(
    function_calling_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    forget_server_features(function_calling_server)
    agent = Agent(
        model=f"openai:smollm2@{function_calling_server}",
        tools=[multiply],
        settings=ModelSettings(temperature=0.0, max_tokens=48, seed=7),
        max_steps=3,
    )
    with caplog.at_level(logging.WARNING, "agentkit"):
        try:
            events = [event async for event in agent.run_stream("What is 6 times 7?")]
            result = events[-1].result  # type: ignore[attr-defined]
        except MaxStepsExceeded as exc:  # a 135M model may keep calling the tool: a documented end
            result = exc.result
    empty = [r.getMessage() for r in caplog.records if "ended before its first chunk" in r.getMessage()]
    assert len(empty) == 1  # once; later steps with tools were asked for whole replies directly
    assert retry_warnings(caplog) == []  # the empty stream was not retried six times
    assert result.usage.requests == result.steps >= 1
    assert any(m.tool_calls for m in result.messages if isinstance(m, AssistantMessage))

"""Fuzzed model text through both backends' text paths: only agentkit's documented errors end a run.

The text a model writes is untrusted: half a tool call, markers of every format mixed, brackets
thousands deep, lone surrogates, numbers of 5,000 digits. Whatever it is, ``run`` / ``arun`` (and
``run_stream``) return a result or raise an error of the :mod:`agentkit.errors` tree that the user
must act on; nothing the model could fix (a ``ModelFixableError``) and nothing foreign (a
``RecursionError``, a ``ValueError`` from a parser) escapes.

- (a) the OpenAI backend in text mode (``tool_mode="text"``, tools described in the prompt and
  parsed from the reply) against the tests' own server over real HTTP, whole and streamed;
- (b) the local engines' shared ``generate_sync`` (``InProcessBackend``, under both the transformers
  and the llama.cpp engine), from the decoded text on: the decode loop is replaced by the fuzzed text
  (no model is loaded), so what turns text into the
  ``AssistantMessage`` (``parse_tool_calls`` with the backend's formats, the cut-call rule at
  ``finish_reason="length"``) and the streamed deltas (``visible_prefix``) are the backend's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agentkit import Agent
from agentkit.backends import ModelRequest
from agentkit.backends.counting import EstimateCounter, TokenCounter
from agentkit.errors import AgentkitError, ModelFixableError
from agentkit.events import FinalOutput
from agentkit.parsing import FORMATS
from agentkit.result import RunResult
from tests.hostile import SURROGATES, check_pairing, echo, keep
from tests.integration.fake_openai_server import FakeOpenAIServer, Reply, Stream, completion, text_stream

pytestmark = pytest.mark.timeout(300)

# -- the fuzzed text ---------------------------------------------------------------------------------

MARKERS = [
    "<tool_call>",
    "</tool_call>",
    "[TOOL_CALLS]",
    "<|python_tag|>",
    "<function=echo>",
    "<function=keep>",
    "</function>",
    "<parameter=text>",
    "<parameter=value>",
    "</parameter>",
    "Action:",
    "Action Input:",
    "Thought:",
    "Final Answer:",
    "```json",
    "```",
    "<|eot_id|>",
]
PIECES = [
    '{"name": "echo", "arguments": {"text": "hi"}}',
    '{"name": "keep", "arguments": ',
    '{"name": "nosuch", "arguments": {}}',
    '"name"',
    '"arguments"',
    '"parameters"',
    '"text"',
    '"value"',
    "echo(text='hi')",
    "keep(value=[1, 2])",
    "[echo(text=1), keep()]",
    '{"value": 1}',
    "{'text': 'single quoted',}",
    "echo",
    "keep",
    "überweisung",
    "NaN",
    "-Infinity",
    "1e999999",
    "9" * 5000,
    "\x00",
    "\\",
    "\\u",
    "\\ud800",
]
PUNCTUATION = list("{}[](),:;\"'` \n\t=<>/|")
DEEP = st.sampled_from([100, 1_000, 5_000]).flatmap(
    lambda n: st.sampled_from(["[" * n, "{" * n, '{"a":' * n, "(" * n, "]" * n + "}" * n])
)
fragment = st.one_of(
    st.sampled_from(MARKERS),
    st.sampled_from(PIECES),
    st.sampled_from(PUNCTUATION),
    st.text(max_size=8),
    st.integers().map(str),
    SURROGATES,
    DEEP,
)
model_text = st.lists(fragment, max_size=24).map("".join)
"""Text in the shape of tool calls and answers, broken anywhere."""


class Answer(BaseModel):
    value: int


OUTPUT_TYPES: dict[str, Any] = {"str": str, "Answer": Answer, "list[int]": list[int]}
SETTLE = {"str": "done", "Answer": '{"value": 1}', "list[int]": "[1]"}
"""What the model says once the fuzzed replies are used up: a valid final answer."""


def outcome(agent: Agent[Any, Any], how: str) -> Any:
    """The run's result, or the exception it raised (whatever it is: the test judges it)."""
    try:
        if how == "run":
            return agent.run("go")
        if how == "arun":
            return asyncio.run(agent.arun("go"))
        return asyncio.run(_streamed(agent))
    except BaseException as exc:  # noqa: BLE001 - the property is about which exceptions escape
        return exc


async def _streamed(agent: Agent[Any, Any]) -> Any:
    final = None
    async for event in agent.run_stream("go"):
        if isinstance(event, FinalOutput):
            final = event.result
    return final


def assert_documented(result: Any) -> None:
    if isinstance(result, BaseException):
        # Only the error tree, and only what the user must act on: the model's mistakes go back to it.
        assert isinstance(result, AgentkitError), repr(result)[:2000]
        assert not isinstance(result, ModelFixableError), repr(result)[:2000]
        return
    assert isinstance(result, RunResult), result
    check_pairing(result.messages)


EXAMPLES = int(os.environ.get("AGENTKIT_FUZZ_EXAMPLES", "30"))
"""Examples per property: few enough for the suite (about 15 s for both here); raise it to hunt
(400 each passed, in 90 s)."""

common = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# -- (a) the OpenAI backend in text mode, over real HTTP ----------------------------------------------


class TextReplies:
    """The queued fuzzed texts, then a valid final answer; streamed when the client asked for a stream."""

    def __init__(self) -> None:
        self.queue: list[str] = []
        self.settle = "done"

    def __call__(self, body: dict[str, Any], index: int) -> Reply | Stream:
        text = self.queue.pop(0) if self.queue else self.settle
        if body.get("stream"):
            return Stream(text_stream(text, pieces=3))
        return Reply(body=json.dumps(completion(text)).encode())


@pytest.fixture(scope="module")
def text_server() -> Iterator[tuple[FakeOpenAIServer, TextReplies]]:
    replies = TextReplies()
    with FakeOpenAIServer(replies) as server:
        yield server, replies


def openai_text_agent(url: str, output: str) -> Agent[Any, Any]:
    from agentkit.backends.openai import OpenAIBackend
    from agentkit.retry import RetryPolicy

    backend = OpenAIBackend(
        "fake-model",
        base_url=url,
        api_key="sk-test-0123456789abcdef",
        tool_mode="text",
        retry=RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.01),
    )
    return Agent(model=backend, tools=[echo, keep], output_type=OUTPUT_TYPES[output], max_steps=5)


@common
@given(
    texts=st.lists(model_text, min_size=1, max_size=3),
    output=st.sampled_from(list(OUTPUT_TYPES)),
    how=st.sampled_from(["run", "arun", "run_stream"]),
)
@example(texts=["[" * 1000], output="Answer", how="run")  # json-repair's ValueError once escaped here
def test_fuzzed_text_through_the_openai_backend_in_text_mode_ends_only_in_documented_ways(
    text_server: tuple[FakeOpenAIServer, TextReplies], texts: list[str], output: str, how: str
) -> None:
    server, replies = text_server
    replies.queue, replies.settle = list(texts), SETTLE[output]
    try:
        assert_documented(outcome(openai_text_agent(server.base_url, output), how))
    finally:
        replies.queue = []


# -- (b) the local engines' shared text path, from the decoded text on ------------------------------


def text_model(replies: list[str], *, call_format: str, constrained: bool, finish: str) -> Any:
    """A local in-process backend whose engine "decodes" the given texts: everything the local engines
    share (tool choice, grammar choice, streaming deltas, call parsing, the response) runs as it is;
    only the decode loop, the tokenizer and the grammar matcher are stand-ins."""
    from agentkit.backends.local.engine import InProcessBackend
    from agentkit.backends.local.jobs import Decoded, DecodeJob

    class TextEngine(InProcessBackend):
        settle = "done"

        def make_token_counter(self) -> TokenCounter:
            return EstimateCounter()  # no tokenizer here; counting is not what this test is about

        def prompt_ids(self, request: ModelRequest) -> list[int]:
            return [1, 2, 3]

        def _decode(self, prompt: list[int], job: DecodeJob) -> Decoded:
            text, reason = (queue.pop(0), finish) if queue else (self.settle, "stop")
            if job.on_text is not None:
                for end in (len(text) // 3, 2 * len(text) // 3, len(text)):
                    job.on_text(text[:end])
            return Decoded(ids=[5] * (len(text) // 4 + 1), text=text, finish_reason=reason, reused=0)

    queue = list(replies)
    backend = TextEngine(name="fuzzed", constrained=constrained, reuse_cache=False, context_window=8192)
    backend._renderer = SimpleNamespace()  # type: ignore[assignment]  # "loaded": no model to load
    backend._call_format = call_format
    backend._stop_ids = frozenset({0})
    backend._grammars = SimpleNamespace(matcher=lambda grammar: object())  # type: ignore[assignment]
    return backend


@contextlib.contextmanager
def decoding(backend: Any, settle: str) -> Iterator[None]:
    """Once the fuzzed texts are used up, the engine answers ``settle`` (a valid final answer)."""
    backend.settle = settle
    yield


@common
@given(
    texts=st.lists(model_text, min_size=1, max_size=3),
    output=st.sampled_from(list(OUTPUT_TYPES)),
    how=st.sampled_from(["run", "arun", "run_stream"]),
    call_format=st.sampled_from(FORMATS),
    constrained=st.booleans(),
    finish=st.sampled_from(["stop", "length"]),
)
@example(
    texts=["[" * 1000], output="Answer", how="arun", call_format="hermes", constrained=False, finish="stop"
)
def test_fuzzed_text_through_the_local_engines_text_path_ends_only_in_documented_ways(
    texts: list[str], output: str, how: str, call_format: str, constrained: bool, finish: str
) -> None:
    backend = text_model(texts, call_format=call_format, constrained=constrained, finish=finish)
    agent: Agent[Any, Any] = Agent(
        model=backend, tools=[echo, keep], output_type=OUTPUT_TYPES[output], max_steps=5
    )
    with decoding(backend, SETTLE[output]):
        assert_documented(outcome(agent, how))


def test_the_fuzzing_reaches_the_parsers_and_the_tools() -> None:
    """The text path under test is the real one: a well-formed call in fuzzed company runs its tool."""
    text = 'noise {{ <tool_call>{"name": "echo", "arguments": {"text": "hi"}}</tool_call> \ud800'
    backend = text_model([text], call_format="hermes", constrained=False, finish="stop")
    with decoding(backend, "done"):
        result: RunResult[str] = Agent(model=backend, tools=[echo, keep]).run("go")
    assert result.output == "done"
    tool_results = [m for m in result.messages if getattr(m, "tool_call_id", None)]
    assert [m.content for m in tool_results] == ["hi"]

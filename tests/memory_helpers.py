"""Shared pieces of the memory tests: random conversations, a scripted model that plays them, the
request invariants every test checks, and a backend counting with the embedded model's real tokenizer."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from agentkit import (
    Agent,
    AssistantMessage,
    Message,
    ModelRequest,
    SystemMessage,
    ToolCall,
    UserMessage,
    tool,
)
from agentkit.context import ContextConfig, pairing_problems
from agentkit.templates import render
from agentkit.testing import ScriptedBackend
from agentkit.tool_spec import ToolSpec

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "réseau",
    "東京",
    "42",
    "3.14",
    "{json:",
    "true}",
    "path/to/file.py\n",
    "def",
    "main():",
    "return",
    "x",
]


def text(size: int, seed: int = 0) -> str:
    """Deterministic mixed text (prose, numbers, code, non-ASCII) of exactly ``size`` characters."""
    rng = random.Random(seed)
    pieces: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS) + " "
        pieces.append(word)
        length += len(word)
    return "".join(pieces)[:size]


@tool
def emit(n: int, seed: int = 0) -> str:
    """Return n characters of text (a stand-in for any tool with a sizeable output)."""
    return text(n, seed)


@dataclass
class Step:
    content: str | None
    outputs: list[int]
    """Sizes of the outputs of this step's parallel calls; empty for the final answer."""


@dataclass
class Plan:
    system: str
    task: str
    steps: list[Step]
    final: str
    seed: int = 0
    calls: list[ToolCall] = field(default_factory=list)


sizes = st.sampled_from([0, 12, 300, 2_000, 30_000, 200_000])
contents = st.one_of(st.none(), st.sampled_from([0, 40, 900]).map(lambda n: text(n, n) if n else ""))


@st.composite
def plans(draw: st.DrawFn, *, max_steps: int = 25, max_parallel: int = 3) -> Plan:
    steps = draw(
        st.lists(
            st.builds(Step, contents, st.lists(sizes, min_size=1, max_size=max_parallel)),
            max_size=max_steps,
        )
    )
    return Plan(
        system=text(draw(st.sampled_from([10, 200, 800])), 1),
        task=text(draw(st.sampled_from([5, 80, 600])), 2),
        steps=steps,
        final=text(draw(st.sampled_from([3, 200])), 3),
        seed=draw(st.integers(0, 1000)),
    )


SUMMARY_SYSTEM = render("summary_system.jinja")


def is_summary_request(request: ModelRequest) -> bool:
    first = request.messages[0] if request.messages else None
    return isinstance(first, SystemMessage) and first.content == SUMMARY_SYSTEM


def player(plan: Plan) -> Callable[[ModelRequest], Any]:
    """A script function that plays ``plan``, answering summary requests on the side."""
    position = 0
    summaries = 0

    def respond(request: ModelRequest) -> Any:
        nonlocal position, summaries
        if is_summary_request(request):
            summaries += 1
            return f"summary #{summaries}: " + text(150, summaries)
        if position >= len(plan.steps):
            return plan.final
        step = plan.steps[position]
        position += 1
        calls = [
            ToolCall(name="emit", arguments={"n": size, "seed": plan.seed + position * 10 + i})
            for i, size in enumerate(step.outputs)
        ]
        plan.calls.extend(calls)
        return AssistantMessage(content=step.content, tool_calls=calls)

    return respond


def check_request(request: ModelRequest, agent: Agent[Any, Any], task: str) -> None:
    """The invariants of every main-loop request: pairing, the system prompt first, the task kept."""
    messages = request.messages
    assert pairing_problems(messages) == [], pairing_problems(messages)
    assert isinstance(messages[0], SystemMessage) and messages[0].content.startswith(agent.system_prompt)
    assert sum(isinstance(m, SystemMessage) for m in messages) == 1
    assert any(isinstance(m, UserMessage) and m.content == task for m in messages)


def agent_for(plan: Plan, backend: ScriptedBackend, config: ContextConfig) -> Agent[Any, Any]:
    return Agent(
        model=backend,
        tools=[emit],
        system_prompt=plan.system,
        max_steps=len(plan.steps) + 2,
        context=config,
        tool_timeout=None,
    )


def render_for_template(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[dict[str, str]]:
    """Messages as a plain chat template sees them: tool calls written into the text, tool schemas into
    the system prompt (how a backend prompts a model whose template knows nothing of tools)."""
    out: list[dict[str, str]] = []
    for message in messages:
        if isinstance(message, AssistantMessage):
            content = (message.content or "") + "".join(
                "\n<tool_call>" + json.dumps({"name": c.name, "arguments": c.arguments}) + "</tool_call>"
                for c in message.tool_calls
            )
            out.append({"role": "assistant", "content": content})
        else:
            out.append({"role": message.role, "content": message.content})
    if tools:
        schema = "\n\nTools:\n" + json.dumps([t.as_dict() for t in tools])
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": out[0]["content"] + schema}
        else:
            out.insert(0, {"role": "system", "content": "You are a helpful assistant." + schema})
    return out


class TokenizerBackend(ScriptedBackend):
    """A scripted model whose ``count_tokens`` is exact: the real tokenizer over the real chat template."""

    def __init__(self, script: Any, tokenizer: Any, *, context_window: int) -> None:
        super().__init__(script, context_window=context_window)
        self.tokenizer = tokenizer

    def prompt_tokens(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        prompt = self.tokenizer.apply_chat_template(
            render_for_template(messages, tools), tokenize=False, add_generation_prompt=True
        )
        return len(self.tokenizer.encode(prompt, add_special_tokens=False))

    def count_tokens(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        return self.prompt_tokens(messages, tools)

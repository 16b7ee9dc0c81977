"""Memory costs per step of a 1,000-step conversation: building each request, and journaling it.

What it measures (one process, same data for every row; the machine is shared, so compare rows of one
table rather than numbers across runs):

1. Request building: microseconds to build the request at steps 10, 100 and 1,000 of a conversation in
   which each step adds an assistant tool call and its result (100 to 3,000 characters). Rows: the
   ContextWindow with the estimating counter and with the exact o200k counter (bpe-openai), each with a
   window that never fills (128k) and one that is evicting all the time (8k); for contrast, a naive
   builder that recounts the whole history every step (what an O(history) design costs), and copying the
   history (what the loop does without context management). Flat = the step-1,000 figure is about the
   step-10 one.
2. Journal writes: microseconds per step (two appends: the assistant message and the tool result) to an
   SQLiteSession at the same steps, with synchronous=NORMAL (survives a killed process) and durable=True
   (fsync, survives power loss).
3. The whole agent loop: microseconds per step of Agent.run on a scripted model over N steps, plain, with
   context management, and with a session, to show what each hook adds.

    .venv/bin/python benchmarks/context.py [--steps 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agentkit import (  # noqa: E402
    Agent,
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
    tool,
)
from agentkit.backends import BaseBackend  # noqa: E402
from agentkit.backends.openai import openai_counter  # noqa: E402
from agentkit.context import ContextConfig, ContextWindow, EstimateCounter, TokenCounter  # noqa: E402
from agentkit.sessions import SQLiteSession  # noqa: E402
from agentkit.testing import ScriptedBackend, call  # noqa: E402
from agentkit.tool_spec import ToolSpec  # noqa: E402

MARKS = (10, 100, 1000)
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "13",
    "lazy",
    "dogs;",
    "def",
    "f(x):",
    "return",
    "x",
    "*",
    "東京",
]
SIZES = [100, 2900, 400, 1200, 250, 3000, 700, 150, 1800, 500]
"""Tool output sizes, cycling every 10 steps so each measured window of 10 steps sees the same mix."""


def _text(n: int, seed: int) -> str:
    out, i = [], seed
    size = 0
    while size < n:
        word = WORDS[i % len(WORDS)]
        out.append(word)
        size += len(word) + 1
        i = i * 7 + 3
    return " ".join(out)[:n]


def conversation(steps: int) -> list[Message]:
    """System, task, then per step an assistant tool call and its result."""
    messages: list[Message] = [SystemMessage(content=_text(600, 1)), UserMessage(content=_text(300, 2))]
    for step in range(steps):
        tool_call = ToolCall(name="search", arguments={"query": _text(40, step), "page": step})
        messages.append(
            AssistantMessage(content=_text(80, step) if step % 3 == 0 else None, tool_calls=[tool_call])
        )
        messages.append(
            ToolMessage(tool_call_id=tool_call.id, name="search", content=_text(SIZES[step % 10], step))
        )
    return messages


TOOLS = [
    ToolSpec(
        "search",
        "Search the web.",
        {"type": "object", "properties": {"query": {"type": "string"}, "page": {"type": "integer"}}},
    )
]


class _Backend(BaseBackend):
    def __init__(self, window: int) -> None:
        self.context_window = window


def _window(step: int) -> int | None:
    """The mark whose 10-step window holds ``step`` (steps m-9 .. m), else None."""
    for mark in MARKS:
        if mark - 10 < step <= mark:
            return mark
    return None


def _at_marks(samples: dict[int, list[float]]) -> list[float]:
    """Median µs over every step in each mark's window, over all runs (robust to GC pauses and noise)."""
    return [statistics.median(samples[m]) * 1e6 for m in MARKS]


def bench_window(
    counter: Callable[[], TokenCounter], window: int, history: list[Message], repeats: int
) -> list[float]:
    samples: dict[int, list[float]] = {m: [] for m in MARKS}

    async def one_run() -> None:
        ctx = ContextWindow(ContextConfig(counter=counter(), reserve_tokens=1024), _Backend(window), TOOLS)
        view: list[Message] = list(history[:2])
        for step in range(1, len(history) // 2):
            view.append(history[2 * step])  # the loop appends to one list, as here
            view.append(history[2 * step + 1])
            started = time.perf_counter()
            await ctx.build(view)
            elapsed = time.perf_counter() - started
            mark = _window(step)
            if mark is not None:
                samples[mark].append(elapsed)

    for _ in range(repeats):
        asyncio.run(one_run())
    return _at_marks(samples)


def bench_naive(counter: TokenCounter, history: list[Message], repeats: int) -> list[float]:
    samples: dict[int, list[float]] = {m: [] for m in MARKS}
    for _ in range(repeats):
        for step in MARKS:
            view = history[: 2 + 2 * step]
            started = time.perf_counter()
            sum(counter.count_message(m) for m in view)
            samples[step].append(time.perf_counter() - started)
    return _at_marks(samples)


def bench_copy(history: list[Message], repeats: int) -> list[float]:
    samples: dict[int, list[float]] = {m: [] for m in MARKS}
    for _ in range(repeats * 20):
        for step in MARKS:
            view = history[: 2 + 2 * step]
            started = time.perf_counter()
            tuple(view)
            samples[step].append(time.perf_counter() - started)
    return _at_marks(samples)


def bench_journal(history: list[Message], durable: bool, repeats: int) -> list[float]:
    samples: dict[int, list[float]] = {m: [] for m in MARKS}
    with tempfile.TemporaryDirectory() as folder:
        for r in range(repeats):
            session = SQLiteSession(Path(folder) / "bench.db", f"run{r}", durable=durable)
            session.append(history[0])
            session.append(history[1])
            for step in range(1, len(history) // 2):
                started = time.perf_counter()
                session.append(history[2 * step])
                session.append(history[2 * step + 1])
                elapsed = time.perf_counter() - started
                mark = _window(step)
                if mark is not None:
                    samples[mark].append(elapsed)
            session.close()
    return _at_marks(samples)


@tool(inline=True)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def bench_agent(n: int, mode: str, repeats: int, folder: str) -> float:
    times = []
    for r in range(repeats):
        backend = ScriptedBackend([call("add", a=i, b=1) for i in range(n - 1)] + ["done"])
        kwargs: dict[str, Any] = (
            {"context": ContextConfig(context_window=32_000)} if mode == "context" else {}
        )
        agent = Agent(model=backend, tools=[add], max_steps=n + 1, **kwargs)
        session = SQLiteSession(Path(folder) / "agent.db", f"{mode}{n}-{r}") if mode == "session" else None
        started = time.perf_counter()
        result = agent.run("Add things.", session=session)
        times.append((time.perf_counter() - started) / n)
        assert result.output == "done" and result.steps == n
    return statistics.median(times) * 1e6


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([title, line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _row(name: str, values: list[float]) -> list[str]:
    return [name, *(f"{v:,.1f}" for v in values), f"{values[-1] / values[0]:.2f}"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    history = conversation(args.steps + 1)
    exact = openai_counter("gpt-4o")
    header = ["µs per step", *(f"step {m}" for m in MARKS), "1000/10"]
    rows = [
        _row(
            "context, estimate counter, 128k window",
            bench_window(EstimateCounter, 128_000, history, args.repeats),
        ),
        _row(
            "context, estimate counter, 8k window (evicting)",
            bench_window(EstimateCounter, 8_192, history, args.repeats),
        ),
        _row(
            "context, o200k exact counter, 128k window",
            bench_window(lambda: openai_counter("gpt-4o"), 128_000, history, args.repeats),
        ),
        _row(
            "context, o200k exact counter, 8k window (evicting)",
            bench_window(lambda: openai_counter("gpt-4o"), 8_192, history, args.repeats),
        ),
        _row("naive: recount the whole history (o200k)", bench_naive(exact, history, args.repeats)),
        _row("no context management: copy the history", bench_copy(history, args.repeats)),
    ]
    print(
        table(
            f"Building each request of a {args.steps}-step conversation (median of {args.repeats} runs)",
            header,
            rows,
        )
    )
    print()
    rows = [
        _row("SQLiteSession.append x2, synchronous=NORMAL", bench_journal(history, False, args.repeats)),
        _row(
            "SQLiteSession.append x2, durable=True (fsync)",
            bench_journal(history, True, max(1, args.repeats // 2)),
        ),
    ]
    print(table("Journal write cost per step (assistant message + tool result)", header, rows))
    print()
    with tempfile.TemporaryDirectory() as folder:
        ns = (10, 100, 1000)
        agent_rows = []
        for mode in ("plain", "context", "session"):
            values = [
                bench_agent(n, mode, max(1, args.repeats // (1 if n < 1000 else 2)), folder) for n in ns
            ]
            agent_rows.append([mode, *(f"{v:,.1f}" for v in values), f"{values[-1] / values[0]:.2f}"])
    print(
        table(
            "Agent.run µs per step, scripted model, one inline tool call a step",
            ["mode", "N=10", "N=100", "N=1000", "1000/10"],
            agent_rows,
        )
    )


if __name__ == "__main__":
    main()

"""How parsing time grows with the reply's length, on adversarial and random replies.

A model reply is untrusted input, so ``agentkit.parsing.parse_tool_calls`` must take time linear in its
length. For each shape below (the ones issue 12 found hanging a run, the ones an audit of every regular
expression and loop in ``agentkit/parsing`` turned up, and seeded random soups of markup fragments)
this prints the CPU time to parse a 50 KB and a 1 MB reply of that shape, their ratio (20 for linear
time, 400 for quadratic) and the time per MB, then the worst time per MB over the shapes. The same
shapes drive ``tests/unit/test_parsing_linear.py``, which asserts the ratio.

    .venv/bin/python benchmarks/parsing.py
    .venv/bin/python benchmarks/parsing.py --only "react: spaces after Action:" --big 200000
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable

SMALL = 50_000
"""The small reply: 50 KB (characters)."""
BIG = 1_000_000
"""The big reply: 1 MB, 20 times the small one."""


def _fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    """``head``, then ``unit`` repeated, then ``tail``: about ``size`` characters in all."""
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


MARKERS = [
    "<tool_call>", "</tool_call>", "<function=f>", "<function=", "</function>", "<parameter=x>",
    "<parameter=", "</parameter>", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "<|python_tag|>", "<|eom_id|>",
    "<|python_start|>", "<|python_end|>", "Action:", "Action Input:", "Observation:", "Thought:",
    "Final Answer:", "\n", "\n\n", "```json\n", "```python\n", "```", "{", "}", "[", "]", "(", ")",
    '"name"', '"arguments"', '"parameters"', '{"name": "f", "arguments": {', "[f(", "f(a=1)", ":", ",",
    ";", "=", "'", '"', "\\", " ", "\t", "    ", "f", "x", "1", "true", "null", ".call(", "é", "🎉", "#",
    '"""', "1if", "name", "id", "type",
]  # fmt: skip
"""Fragments the random soups are made of: every format's markers, JSON and Python punctuation."""


def soup(seed: int, weights: dict[str, float] | None = None) -> Callable[[int], str]:
    """A seeded random reply of markup fragments; a longer one starts with the shorter one."""

    def make(size: int) -> str:
        rng = random.Random(seed)
        pieces, length = [], 0
        while length < size:
            if weights and rng.random() < 0.5:
                piece = rng.choices(list(weights), list(weights.values()))[0]
            else:
                piece = rng.choice(MARKERS)
            pieces.append(piece)
            length += len(piece)
        return "".join(pieces)[:size]

    return make


SHAPES: dict[str, Callable[[int], str]] = {
    # The replies issue 12 found hanging a run.
    "react: spaces after Action:": lambda n: _fill(" ", n, "Action:", "x"),
    "react: tabs after the name": lambda n: _fill("\t", n, "Action: a", "b"),
    "pythonic: one long list": lambda n: _fill("f(), ", n, "[", "f()]"),
    "pythonic: unclosed lists": lambda n: _fill("[f(\n", n),
    "qwen3_xml: <function= repeated": lambda n: _fill("<function=", n),
    'json: {"name":" repeated': lambda n: _fill('{"name":"', n),
    "pythonic: SyntaxWarning literals": lambda n: _fill("f(a=1if 1 else 2), ", n, "[", "f()]"),
    # Found by the audit of agentkit/parsing.
    "react: blank lines after Action:": lambda n: _fill("\n", n, "Action: a\n", "x"),
    "react: many blocks": lambda n: _fill("Action: f\nAction Input: {}\n", n),
    "react: Action lines, no input": lambda n: _fill("Action: f\n", n),
    "qwen3_xml: <parameter= repeated": lambda n: _fill("<parameter=", n, "<function=f>"),
    "qwen3_xml: many functions": lambda n: _fill("<function=f><parameter=a>1</parameter></function>", n),
    "qwen3_xml: spaces before <function=": lambda n: _fill(" ", n, "<tool_call>", "<function=f>"),
    "hermes: fence then spaces": lambda n: _fill(" ", n, "<tool_call>```\n", "x</tool_call>"),
    "hermes: unclosed tags": lambda n: _fill("<tool_call>{", n),
    "hermes: list of non-calls": lambda n: _fill("1,", n, "<tool_call>[", "1]</tool_call>"),
    "hermes: broken JSON nesting ever deeper": lambda n: _fill("[1], {", n, "<tool_call>{"),
    "hermes: broken JSON, lists as keys": lambda n: _fill("{[1]: 1}, ", n, "<tool_call>[", "]</tool_call>"),
    "hermes: code with unescaped quotes": lambda n: _fill(
        'print("hi")\\n', n, '<tool_call>{"name": "f", "arguments": {"code": "', '"}}</tool_call>'
    ),
    "hermes: quotes before a long comment": lambda n: _fill('" /* ', n, '<tool_call>{"a": "', "*/ x"),
    "hermes: valid call with a long argument": lambda n: _fill(
        "x", n, '<tool_call>{"name": "f", "arguments": {"text": "', '"}}</tool_call>'
    ),
    "hermes: arguments as a broken JSON string": lambda n: _fill(
        "a: 1, ", n, '<tool_call>{"name": "f", "arguments": "{', '"}</tool_call>'
    ),
    "hermes: pythonic body": lambda n: _fill("f(), ", n, "<tool_call>[", "f()]</tool_call>"),
    "hermes: plain-text bodies": lambda n: _fill("<tool_call>add a=1 b=two</tool_call>", n),
    "mistral: bare tags": lambda n: _fill("[TOOL_CALLS]", n),
    "mistral: named calls": lambda n: _fill("f[ARGS]{}", n, "[TOOL_CALLS]"),
    "mistral: strings across tags": lambda n: _fill('[TOOL_CALLS]["', n),
    "python_tag: tags repeated": lambda n: _fill("<|python_tag|>", n),
    "python_tag: nested builtin call": lambda n: _fill("f(", n, "<|python_tag|>brave_search.call("),
    "pythonic: spaces after the list": lambda n: _fill(" ", n, "[f(a=1)]", "x"),
    "pythonic: strings across lines": lambda n: _fill('[f("\n', n),
    "pythonic: deep brackets": lambda n: _fill("[", n, "[f(", ""),
    "json: fence header spaces": lambda n: _fill(" ", n, "{```json", "x"),
    "json: nested candidates": lambda n: _fill('[{"id": 1, "x": ', n),
    "json: closed non-calls": lambda n: _fill('{"type": "x"} ', n),
    "json: fences and candidates": lambda n: _fill('```json\n{"name": 1}\n```\n{"name": 2} ', n),
    "llama3_json: leading whitespace": lambda n: _fill(" ", n, "", '{"name": "f", "parameters": {}'),
    "deep: open brackets": lambda n: _fill("[{", n, "<tool_call>"),
    "quotes: double": lambda n: _fill('"', n, "<tool_call>{"),
    "quotes: backslashes": lambda n: _fill("\\", n, '<tool_call>{"a": "'),
    # Seeded random soups of markup fragments, some weighted towards one family of formats.
    "random: every marker": soup(1),
    "random: JSON-heavy": soup(2, {"{": 3, "}": 1, '"name"': 2, ":": 2, '"': 2, ",": 1, "[": 1}),
    "random: tag-heavy": soup(3, {"<tool_call>": 2, "<function=": 2, "[TOOL_CALLS]": 1, ">": 2}),
    "random: pythonic-heavy": soup(4, {"\n[f(": 3, "(": 2, ")": 1, "]": 1, "'": 1, '"': 1, "=": 1}),
    "random: ReAct-heavy": soup(5, {"\nAction: ": 3, "\nAction Input: ": 2, " ": 3, "\t": 2}),
}
"""Reply shapes by name: each makes a reply of about the given number of characters."""


def cpu_seconds(
    parse: Callable[[str], object],
    text: str,
    min_time: float = 0.5,
    max_samples: int = 20,
    batch: int = 1,
    collect: bool = False,
) -> float:
    """CPU seconds per parse of ``text``: the least over samples of ``batch`` parses each, sampled until
    ``min_time`` is spent (at most ``max_samples`` samples).

    CPU time, not wall time: on a shared machine other processes do not inflate it much. A batch of
    small parses lasts as long as one big parse, so both meet the same share of a busy neighbour (a
    lone 3 ms sample can catch a quiet moment no 100 ms sample gets). The least sample leaves out first
    touches of fresh memory. Python's cyclic garbage collector is paused while timing unless
    ``collect``: its passes walk every object alive in the process (here, the hundreds of thousands of
    calls a 1 MB reply can hold), a cost that is the interpreter's, not the parser's.
    """
    gc.collect()
    paused = not collect and gc.isenabled()
    if paused:
        gc.disable()
    try:
        best = float("inf")
        spent = 0.0
        for _ in range(max_samples):
            start = time.process_time()
            for _ in range(batch):
                parse(text)
            elapsed = time.process_time() - start
            best = min(best, elapsed / batch)
            spent += elapsed
            if spent >= min_time:
                break
        return best
    finally:
        if paused:
            gc.enable()


def growth(shape: str, small: int = SMALL, big: int = BIG, collect: bool = False) -> tuple[float, float]:
    """CPU seconds to parse a ``small`` and a ``big`` reply of ``shape``, in samples of equal length."""
    from agentkit.parsing import parse_tool_calls

    make = SHAPES[shape]
    small_time = cpu_seconds(parse_tool_calls, make(small), batch=max(1, big // small), collect=collect)
    return small_time, cpu_seconds(parse_tool_calls, make(big), collect=collect)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", help="a shape to measure (repeatable); default: all")
    parser.add_argument("--small", type=int, default=SMALL)
    parser.add_argument("--big", type=int, default=BIG)
    parser.add_argument("--gc", action="store_true", help="keep the cyclic garbage collector running")
    args = parser.parse_args()
    shapes = args.only or list(SHAPES)
    scale = args.big / args.small
    sizes = f"{args.small / 1000:g} KB ms | {args.big / 1e6:g} MB ms"
    print(f"| shape | {sizes} | ratio (linear: {scale:g}) | s per MB |")
    print("|---|---:|---:|---:|---:|")
    worst = ("", 0.0)
    for shape in shapes:
        small, big = growth(shape, args.small, args.big, args.gc)
        per_mb = big / (args.big / 1e6)
        worst = max(worst, (shape, per_mb), key=lambda row: row[1])
        ratio = big / max(small, 1e-9)
        print(f"| {shape} | {small * 1e3:.2f} | {big * 1e3:.1f} | {ratio:.1f} | {per_mb:.3f} |")
    print(f"\nworst time per MB: {worst[1]:.2f} s ({worst[0]})")


if __name__ == "__main__":
    main()

"""Grammar checks on a byte-level tokenizer: whether a reply grammar admits a text, whole or as a start.

One byte is one token, so a test can feed any text to an llguidance matcher without a model's
vocabulary; shared by the tests of the local engines' grammars.
"""

from __future__ import annotations

import json
from typing import Any

from agentkit import ToolSpec
from agentkit.backends.local.constraints import CALL_CLOSE, CALL_OPEN, build_grammar


def _byte_tokenizer() -> Any:
    import llguidance

    return llguidance.LLTokenizer.from_tiktoken(
        encoder={bytes([i]): i for i in range(256)},
        special_tokens={"<eos>": 256},
        pattern=r"[\s\S]",
        eos_token=256,
        n_vocab=257,
        slices=[],
    )


TOKENIZER = _byte_tokenizer()


def matcher(grammar: str) -> Any:
    """A matcher for ``grammar`` in its start state (the grammar must compile)."""
    import llguidance

    made = llguidance.LLMatcher(TOKENIZER, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
    assert not made.is_error(), made.get_error()
    return made


def admits(grammar: str, text: str) -> bool:
    """Whether ``grammar`` admits ``text`` as a whole reply (the end token may follow it)."""
    made = matcher(grammar)
    ok = made.consume_tokens(TOKENIZER.tokenize_str(text))
    return bool(ok) and not made.is_error() and (made.is_accepting() or made.is_stopped())


def admits_prefix(grammar: str, text: str) -> bool:
    """Whether ``text`` can start a reply ``grammar`` admits."""
    made = matcher(grammar)
    return bool(made.consume_tokens(TOKENIZER.tokenize_str(text))) and not made.is_error()


def call_text(name: str, arguments: dict[str, Any]) -> str:
    """One call as the grammar writes it."""
    return CALL_OPEN + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + CALL_CLOSE


def object_tool(name: str, required: tuple[str, ...] | None = None, **types: str) -> ToolSpec:
    """A tool whose arguments are plain JSON types (``city="string"``), all required unless said."""
    return ToolSpec(
        name,
        "",
        {
            "type": "object",
            "properties": {key: {"type": kind} for key, kind in types.items()},
            "required": list(types if required is None else required),
        },
    )


def one_call_grammar(
    spec: ToolSpec,
    question: str,
    previous: list[tuple[str, dict[str, Any]]] | None = None,
    advance: bool = False,
) -> str:
    """The grammar for one call of ``spec`` answering ``question``, after the reply's ``previous``
    calls (name, arguments); it must exist."""
    grammar = build_grammar(
        [spec],
        tool_choice="required",
        calls=(1, 1),
        request_text=question,
        previous_calls=previous or [],
        advance=advance,
    )
    assert grammar is not None
    return grammar

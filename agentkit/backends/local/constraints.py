"""Grammars for constrained decoding: a call of a registered tool with schema-valid arguments, or a
final answer (free text, or JSON under the output schema).

Why llguidance: it compiles a tool set's grammar in about a millisecond, computes the token mask in
about 0.35 ms, and is a small self-contained wheel; xgrammar does as well on masks but pulls triton
(about 1 GB), and outlines / lm-format-enforcer are slower to compile. Measured on SmolLM2-135M
(BFCL simple_python, first 40 cases): 0/40 correct calls unconstrained, 28/40 constrained; 32/40 (176/400
over all cases) once the grammar also closed nested objects and kept required strings and arrays
non-empty, with the parameters listed in words in the prompt.

This module only builds grammar text and compiles it, for every engine (each brings its own llguidance
tokenizer: transformers from the Hugging Face tokenizer, llama.cpp from the GGUF's vocabulary); it
imports neither torch nor llama.cpp.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.backends.local.advancing import advanced, numbers_forward
from agentkit.backends.local.number_labels import (
    first_labelled,
    next_labelled,
    numbers_for_their_owners,
)
from agentkit.backends.local.request_values import RequestValues
from agentkit.backends.local.several import asks_for_several, writes_several
from agentkit.errors import ConfigurationError
from agentkit.tool_spec import ToolSpec

CALL_OPEN = "<tool_call>\n"
CALL_CLOSE = "\n</tool_call>"
"""The Hermes/Qwen call syntax. The grammar writes JSON with json.dumps' default separators, so a call
re-rendered into the next prompt tokenizes exactly like the generated one and the KV cache is reused."""

_JSON_OPTIONS = {
    # One canonical spelling: no runs of whitespace (small models loop on them) and the same text the
    # prompt renderer writes back.
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
    # Tool schemas come from anywhere (MCP, OpenAPI); ignore keywords the compiler does not know
    # instead of refusing the whole tool set.
    "lenient": True,
}


def render_call(name: str, arguments: dict[str, Any]) -> str:
    """The exact text of one call as the grammar produces it."""
    return CALL_OPEN + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + CALL_CLOSE


_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def _tighten(schema: Any, values: RequestValues | None = None) -> None:
    """In place, at every depth: objects that declare properties take no other keys, and a required
    string or array is not empty unless the schema says how long it may be. With ``values``, free-form
    strings are spans of the request and arrays get a repetition bound
    (:meth:`~agentkit.backends.local.request_values.RequestValues.constrain`).

    Small models copy the parameter schema itself into an argument object (``{"type": "object",
    "properties": ...}``) when extra keys are allowed, and close a required string right after its
    opening quote (an ID written as ``""``); neither is ever a useful call.
    """
    if isinstance(schema, list):
        for item in schema:
            _tighten(item, values)
        return
    if not isinstance(schema, dict):
        return
    if values is not None:
        values.constrain(schema)
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        schema.setdefault("additionalProperties", False)
        for key in schema.get("required") or ():
            sub = properties.get(key)
            if not isinstance(sub, dict) or any(word in sub for word in ("enum", "const", "pattern")):
                continue  # the schema already says exactly what is allowed
            if sub.get("type") == "string":
                sub.setdefault("minLength", 1)
            elif sub.get("type") == "array":
                sub.setdefault("minItems", 1)
    for key, value in schema.items():
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            for sub in value.values():
                _tighten(sub, values)
        elif key in _SUBSCHEMA_LISTS or key in ("items", "additionalProperties"):
            _tighten(value, values)


def _closed(schema: dict[str, Any], values: RequestValues | None = None) -> dict[str, Any]:
    """An object schema with no extra keys unless it asks for them (small models otherwise invent keys
    until the token limit cuts the JSON in half), tightened at every depth by :func:`_tighten`."""
    schema = copy.deepcopy(schema) if schema else {"type": "object", "properties": {}}
    if schema.get("type", "object") == "object":
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        schema.setdefault("additionalProperties", False)
    _tighten(schema, values)
    return schema


def _json_rule(schema: dict[str, Any]) -> str:
    return "%json " + json.dumps({**schema, "x-guidance": _JSON_OPTIONS}, ensure_ascii=False)


def _repeat(bounds: tuple[int, int | None]) -> str:
    """``call`` repeated ``least`` to ``most`` times, separated by newlines."""
    least, most = bounds
    if least < 1 or (most is not None and most < least):
        raise ConfigurationError(f"calls must be 1 <= least <= most, got {bounds}")
    if most == 1:
        return "call"
    if least == 1 and most is None:
        return 'call ("\\n" call)*'
    upper = "" if most is None else str(most - 1)
    return f'call ("\\n" call){{{least - 1},{upper}}}'


def tool_names(tools: Sequence[ToolSpec]) -> list[str]:
    return [spec.name for spec in tools]


def build_grammar(
    tools: Sequence[ToolSpec],
    *,
    tool_choice: str = "auto",
    output_schema: dict[str, Any] | None = None,
    parallel_calls: bool = True,
    calls: tuple[int, int | None] | None = None,
    request_text: str | None = None,
    previous_calls: Sequence[tuple[str, dict[str, Any]]] = (),
    advance: bool = False,
    distinct: tuple[str, dict[str, Any]] | None = None,
) -> str | None:
    """A Lark grammar (llguidance dialect) for the reply, or ``None`` when nothing needs constraining.

    ``tool_choice``: ``auto`` admits calls or an answer; ``required`` calls only; a tool name a call of
    that tool only; ``none`` an answer only. An answer is free text that does not start with ``<``
    (so a call can only be written through the call rule), or JSON under ``output_schema``.
    ``parallel_calls=False`` admits one call per reply (small models otherwise repeat calls until
    the token limit cuts the last one in half); ``calls=(least, most)`` bounds how many a reply
    holds (``most`` ``None``: no bound), overriding ``parallel_calls``. ``request_text``: the request's
    text; a string argument whose schema does not pin its form must then be one of its spans, a
    number one it writes and does not label for another argument
    (:mod:`agentkit.backends.local.number_labels`), and arrays get a repetition bound;
    ``previous_calls`` (name, arguments), the calls this reply already holds, make a further call
    of the same tool move forward through
    the request (:mod:`agentkit.backends.local.request_values`); with ``advance``, a further
    call of a tool already called must take a number written after the ones its calls used (a tool
    that cannot is left out; ``None`` when none can). ``distinct``, a call (name, arguments) just
    decoded: a grammar for that tool's call again, where no two arguments take one value the request
    writes once (:meth:`~agentkit.backends.local.request_values.RequestValues.distinct`); ``None``
    when the call shares no such value.
    """
    specs = list(tools)
    if distinct is not None:
        tool_choice = distinct[0]
    if tool_choice not in ("auto", "none", "required"):
        specs = [spec for spec in specs if spec.name == tool_choice]
        if not specs:
            raise ConfigurationError(f"tool_choice={tool_choice!r} names no tool of this request")
    allow_calls = tool_choice != "none" and bool(specs)
    allow_answer = tool_choice in ("auto", "none") or not specs
    if not tools and output_schema is None:
        return None
    lines = []
    alternatives = []
    values = RequestValues(request_text, tuple(previous_calls)) if request_text else None
    if advance and (values is None or not asks_for_several(values.text, values.previous)):
        return None  # the request asks for nothing more than the calls made: nothing to advance to
    if allow_calls:
        alternatives.append("calls")
        lines.append(f"calls: {_repeat(calls if calls is not None else (1, None if parallel_calls else 1))}")
        lines.append(f"call: {json.dumps(CALL_OPEN)} body {json.dumps(CALL_CLOSE)}")
        bodies = []
        for i, spec in enumerate(specs):
            arguments: dict[str, Any] | None = _closed(dict(spec.parameters), values)
            if values is not None and arguments is not None:
                arguments = numbers_for_their_owners(values, arguments)
                if not values.previous:
                    arguments = first_labelled(values, arguments)
                if not values.previous and writes_several(values.text):
                    arguments = values.choices_first(values.numbers_first(arguments))
            if values is not None and values.previous and arguments is not None:
                for key, sub in (arguments.get("properties") or {}).items():
                    if isinstance(sub, dict):
                        values.progress(spec.name, key, sub)
                arguments = next_labelled(values, spec.name, numbers_forward(values, spec.name, arguments))
                if advance:
                    arguments = advanced(values, spec.name, arguments)
            if distinct is not None:
                arguments = (
                    None if values is None or arguments is None else values.distinct(arguments, distinct[1])
                )
            if arguments is None:
                continue  # this tool cannot be called again with anything new
            bodies.append(f"tool{i}")
            body = {
                "type": "object",
                "properties": {
                    "name": {"const": spec.name},
                    "arguments": arguments,
                },
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
            lines.append(f"tool{i}: {_json_rule(body)}")
        if not bodies:
            return None
        lines.insert(2, "body: " + " | ".join(bodies))
    if allow_answer:
        alternatives.append("answer")
        if output_schema is not None:
            lines.append(f"answer: {_json_rule(_closed(output_schema))}")
        else:
            lines.append("answer: TEXT")
            lines.append(r"TEXT: /[^<][\s\S]*/")
    return "\n".join([f"start: {' | '.join(alternatives)}", *lines]) + "\n"


@dataclass(frozen=True, slots=True)
class CompiledGrammar:
    grammar: str
    matcher: Any  # llguidance.LLMatcher in its start state; deep-copied per request


class GrammarCache:
    """Compiled grammars by grammar text: a tool set is compiled once, then each request gets a copy."""

    def __init__(self, ll_tokenizer: Any, max_entries: int = 64) -> None:
        self._tokenizer = ll_tokenizer
        self._entries: dict[str, CompiledGrammar] = {}
        self._max = max_entries
        self._lock = threading.Lock()
        self.compiled = 0
        """How many grammars were compiled (a cache miss each)."""

    def matcher(self, grammar: str) -> Any:
        """A fresh matcher for ``grammar`` (raises :class:`ConfigurationError` when it cannot compile)."""
        import llguidance

        with self._lock:
            entry = self._entries.get(grammar)
            if entry is None:
                matcher = llguidance.LLMatcher(
                    self._tokenizer, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0
                )
                if matcher.is_error():
                    raise ConfigurationError(f"cannot build a decoding grammar: {matcher.get_error()}")
                if len(self._entries) >= self._max:
                    self._entries.pop(next(iter(self._entries)))
                entry = self._entries[grammar] = CompiledGrammar(grammar, matcher)
                self.compiled += 1
            return entry.matcher.deep_copy()


def start_tokens(matcher: Any, vocab_size: int) -> Any:
    """A numpy bool mask of the tokens ``matcher`` admits first (tokens past the tokenizer's vocabulary,
    padding rows of an embedding matrix, never are)."""
    import numpy as np

    bits = np.unpackbits(np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
    mask = np.zeros(vocab_size, dtype=bool)
    n = min(vocab_size, bits.size)
    mask[:n] = bits[:n].astype(bool)
    return mask

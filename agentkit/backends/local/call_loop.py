"""Several calls in one reply, decoded one call at a time.

One grammar for "1 to k calls" lets a small model write the same call again and again (on BFCL's
parallel category SmolLM2-135M repeated its first call in half the replies), and it cannot make a
later call depend on an earlier one. Decoding call by call can:

- each call is decoded under its own grammar, built knowing the calls before it (with values from the
  request, a later call of the same tool moves forward through the request:
  :meth:`~agentkit.backends.local.request_values.RequestValues.progress`);
- a call identical to an earlier one ends the reply (and is dropped);
- after each call, the request's words say whether it asks for another
  (:mod:`~agentkit.backends.local.several`), and if so the model's log-odds of ending the reply
  against starting another call decide whether to go on (above ``stop_threshold``: stop), at most
  ``max_calls`` calls; a repeat may then be replaced by a call that moves forward.

The KV cache makes this cheap: each step's prompt is the previous one plus what was decoded, so only
the new tokens are run. Engine-neutral: the engine supplies ``decode`` (its decode loop under a
matcher) and ``next_logprobs`` (the next token's log-probabilities after a prompt).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

CALL_SEPARATOR = "\n"
"""Between two calls, as the grammar writes them (``separator`` is its tokens)."""


class Decoded(Protocol):
    """What the engine's decode loop returns (read only)."""

    @property
    def ids(self) -> list[int]: ...
    @property
    def text(self) -> str: ...
    @property
    def finish_reason(self) -> str: ...


@dataclass(slots=True)
class CallsDecoded:
    """The reply: its token ids and text (calls separated by newlines, as one grammar would write them)."""

    ids: list[int] = field(default_factory=list)
    text: str = ""
    finish_reason: str = "stop"
    stop_log_odds: list[float] = field(default_factory=list)
    """The log-odds of ending the reply, after each call but the last decoded one."""
    dropped_repeat: bool = False
    advanced: int = 0
    """Repeats replaced by a call that moved forward through the request."""
    counted: bool = False
    """The reply ended because the request asked for no further call (``wants_more``)."""
    distinct: int = 0
    """Calls decoded again because two arguments shared a value (``distinct_for``)."""


Decode = Callable[[list[int], Any, int], Decoded]
"""(prompt ids, matcher, token budget) -> what the engine decoded."""


def decode_calls(
    *,
    prompt: Sequence[int],
    decode: Decode,
    next_logprobs: Callable[[list[int]], Any],
    matcher_for: Callable[[Sequence[tuple[str, dict[str, Any]]]], Any],
    parse: Callable[[str], tuple[str, dict[str, Any]] | None],
    separator: Sequence[int],
    stop_ids: Sequence[int],
    max_calls: int,
    max_new_tokens: int,
    stop_threshold: float = 0.0,
    advance_for: Callable[[Sequence[tuple[str, dict[str, Any]]]], Any] | None = None,
    wants_more: Callable[[Sequence[tuple[str, dict[str, Any]]]], bool] | None = None,
    distinct_for: Callable[[Sequence[tuple[str, dict[str, Any]]], tuple[str, dict[str, Any]]], Any]
    | None = None,
) -> CallsDecoded:
    """Decode calls one by one (see the module docstring). ``matcher_for(previous_calls)`` gives a
    matcher for exactly one call; ``parse`` reads one call's text into (name, arguments), or ``None``;
    ``separator`` is the tokens between two calls (a newline). ``advance_for(previous_calls)``, when
    given, is tried once a call repeats: a matcher for a call that must take a number the request
    writes after the ones used so far (``None`` when there is none); its call replaces the repeat.
    ``wants_more(previous_calls)``, when given, must say the request asks for another call before
    one is decoded (the model's log-odds are asked only then). ``distinct_for(previous_calls,
    call)``, when given, is asked after each call: a matcher for that call again where no two
    arguments share a value the request writes once (``None`` when they share none); its call
    replaces the first when it parses."""
    out = CallsDecoded()
    previous: list[tuple[str, dict[str, Any]]] = []
    while True:
        budget = max_new_tokens - len(out.ids)
        segment = decode([*prompt, *out.ids], matcher_for(previous), budget)
        call = parse(segment.text) if segment.finish_reason == "stop" else None
        mended = distinct_for(previous, call) if distinct_for is not None and call is not None else None
        if mended is not None:
            again = decode([*prompt, *out.ids], mended, budget)
            call_again = parse(again.text) if again.finish_reason == "stop" else None
            if call_again is not None:
                segment, call = again, call_again
                out.distinct += 1
        if call is not None and call in previous:
            advanced = advance_for(previous) if advance_for is not None else None
            if advanced is not None:
                segment = decode([*prompt, *out.ids], advanced, budget)
                call = parse(segment.text) if segment.finish_reason == "stop" else None
                out.advanced += call is not None and call not in previous
        if call is not None and call in previous:
            out.dropped_repeat = True  # drop it, and the separator written before it
            del out.ids[len(out.ids) - len(separator) :]
            out.text = out.text[: -len(CALL_SEPARATOR)]
            break
        if call is None and previous and segment.finish_reason == "length":
            # The token limit cut a further call in half: the complete calls before it stand, and
            # the half call (which a lenient parser would "repair" into a wrong one) goes.
            del out.ids[len(out.ids) - len(separator) :]
            out.text = out.text[: -len(CALL_SEPARATOR)]
            out.finish_reason = "length"
            break
        out.ids.extend(segment.ids)
        out.text += segment.text
        if call is None:
            out.finish_reason = segment.finish_reason
            break
        previous.append(call)
        if len(previous) >= max_calls or max_new_tokens - len(out.ids) <= len(separator) + 1:
            break
        if wants_more is not None and not wants_more(previous):
            out.counted = True
            break
        logprobs = np.asarray(next_logprobs([*prompt, *out.ids]), dtype=np.float64)
        end = float(np.logaddexp.reduce(logprobs[list(stop_ids)]))
        stop = end - float(logprobs[separator[0]])
        out.stop_log_odds.append(stop)
        if stop > stop_threshold:
            break
        out.ids.extend(separator)
        out.text += CALL_SEPARATOR
    return out

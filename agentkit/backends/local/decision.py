"""Whether the first reply to a user message calls a tool or answers: the decision step for small models.

A 135M model asked freely almost never starts a call (SmolLM2-135M puts about 0.01% on ``<tool_call>``),
and forced to call, it calls on every question, also when no tool fits. Neither its greedy choice nor a
yes/no question put to it separates the two (measured on BFCL, below). Two signals together do:

- **word overlap**: whether the request shares a content word with some tool's name, description or
  parameters (function words and generic request verbs left out, words reduced to their stems by the
  Snowball stemmer, so "multiplied" meets "multiply"). A request that shares no word with any tool is
  about something else;
- **the model's own first token**: the log-odds, under the tool prompt and the reply grammar, of
  starting a call against starting an answer, minus the same log-odds for a content-free request
  (:data:`CONTENT_FREE` in place of the user's message; "contextual calibration", Zhao et al. 2021,
  "Calibrate Before Use"). The raw log-odds are always far below zero for this model and shift with the
  system prompt and the tools; what the request adds to them is larger when a tool fits.

The reply calls when both agree (overlap of at least :data:`MIN_OVERLAP` words, calibrated log-odds
above the threshold), and answers otherwise. Measured on the fixed development sample of BFCL (every
5th case of simple_python, parallel and irrelevance: 80, 40 and 48 cases; calls let through on the
first two, irrelevant requests declined on the third): the model's greedy choice 0, 0, 48; overlap
alone 78, 40, 28; raw log-odds above -7.5 alone 80, 39, 21, with overlap 78, 39, 35; calibrated
log-odds above -3 with overlap 78, 39, 35, and with a generic system prompt added 78, 39, 36 at the
same threshold (the raw threshold falls to 75, 36, 36 there: a system prompt moves the raw log-odds by
a point or more). A cruder suffix-stripping stemmer gave one more declined, and failed "multiplied"
against "multiply". Dropped: a yes/no relevance question put to the model (AUC 0.70; 74, 40, 16 at its
best threshold) and the pointwise mutual information of the request and the tool list (AUC 0.90, but
75, 39, 24, nothing on top of the two above, and a second full forward pass). Details in
benchmarks/README.md.

Everything here is engine-neutral: the engine supplies the first token's log-probabilities; the masks
of call and answer tokens come from the reply grammar's matcher.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agentkit.backends.base import ModelRequest
from agentkit.messages import Message, UserMessage
from agentkit.tool_spec import ToolSpec

MIN_OVERLAP = 1
"""Content words the request must share with some tool for a call."""

DEFAULT_CALL_THRESHOLD = -3.0
"""Calibrated first-token log-odds of a call (the request's minus the content-free request's) above
which the reply calls; chosen on the development sample for SmolLM2-135M-Instruct with agentkit's tool
prompt."""

CONTENT_FREE = "N/A"
"""The user message of the reference request the log-odds are calibrated against."""

_STOP_WORDS = frozenset(
    re.split(
        r"\s+",
        """a an the of to in on for and or with by from at as is are be what whats how much many find get
    calculate compute give me my i you it its this that which can could would please about given if
    into per than then there their them these those was were will do does did have has had not no yes
    also using use based value values number""",
    )
)
"""Function words and the generic verbs of requests ("calculate", "find"): they say nothing of topic."""

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")


@functools.cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def content_words(text: str) -> set[str]:
    """Stemmed content words of ``text`` (camelCase and snake_case names split into words)."""
    words = _WORD.findall(_CAMEL.sub(r"\1 \2", text).lower())
    kept = [w for w in words if w not in _STOP_WORDS and not w.isdigit() and len(w) > 1]
    return set(_stemmer().stemWords(kept))


def tool_text(spec: ToolSpec) -> str:
    """What a request is compared with: the tool's name, description, parameter names and their
    descriptions."""
    parts = [spec.name, spec.description or ""]
    properties = spec.parameters.get("properties") if isinstance(spec.parameters, dict) else None
    if isinstance(properties, dict):
        for key, schema in properties.items():
            parts.append(str(key))
            if isinstance(schema, dict):
                parts.append(str(schema.get("description") or ""))
    return " ".join(parts)


def overlap(request: str, tools: Sequence[ToolSpec]) -> int:
    """The most content words ``request`` shares with any one tool."""
    words = content_words(request)
    return max((len(words & content_words(tool_text(spec))) for spec in tools), default=0)


def call_log_odds(logprobs: Any, call_tokens: Any, answer_tokens: Any) -> float:
    """log P(the reply starts a call) - log P(it starts an answer), from the first token's
    log-probabilities and boolean masks of the tokens that start each (numpy arrays)."""
    import numpy as np

    values = np.asarray(logprobs, dtype=np.float64)

    def mass(mask: Any) -> float:
        picked = values[np.asarray(mask, dtype=bool)[: values.shape[0]]]
        if picked.size == 0:
            return float("-inf")
        top = float(picked.max())
        return top + float(np.log(np.exp(picked - top).sum())) if np.isfinite(top) else top

    return mass(call_tokens) - mass(answer_tokens)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the first reply may be, and why (kept on the backend as ``last_decision``)."""

    choice: Literal["required", "none"]
    overlap: int
    call_log_odds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"choice": self.choice, "overlap": self.overlap, "call_log_odds": self.call_log_odds}


def needs_model(request: str, tools: Sequence[ToolSpec]) -> bool:
    """Whether the first-token log-odds are needed: not when no word is shared (the answer is known)."""
    return overlap(request, tools) >= MIN_OVERLAP


def decide(
    request: str,
    tools: Sequence[ToolSpec],
    log_odds: float | None,
    threshold: float = DEFAULT_CALL_THRESHOLD,
) -> Decision:
    """Call when the request shares a word with a tool and the model leans far enough towards a call."""
    shared = overlap(request, tools)
    calls = shared >= MIN_OVERLAP and (log_odds is None or log_odds > threshold)
    return Decision("required" if calls else "none", shared, log_odds)


def last_user_text(messages: Sequence[Message]) -> str:
    """The last user message's text: what the request is about."""
    for message in reversed(messages):
        if isinstance(message, UserMessage):
            return message.content
    return ""


def content_free(request: ModelRequest) -> ModelRequest:
    """The request with its last user message replaced by :data:`CONTENT_FREE` (the reference point
    the first-token log-odds are calibrated against)."""
    messages = list(request.messages)
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], UserMessage):
            messages[index] = UserMessage(content=CONTENT_FREE)
            break
    return ModelRequest(
        messages=messages,
        tools=request.tools,
        tool_choice=request.tool_choice,
        output_schema=request.output_schema,
        settings=request.settings,
    )

"""The tool-choice policy and the decision path of every in-process engine (a mixin of
:class:`~agentkit.backends.local.engine.InProcessBackend`).

Small models need help to call tools; with ``tool_choice="auto"`` a reply is steered by the backend
options (documented on ``InProcessBackend``):

- ``call_then_answer`` (the forced path): the first reply after a user message must call, the reply
  after successful results must answer;
- ``decide_calls`` (the decision path, what ``local`` does): the first reply calls or answers as
  :mod:`.decision` chooses from the request's words and the model's first-token log-odds; several
  calls are decoded one at a time (:mod:`.call_loop`); with ``values_from_request``, values come from
  the request (:mod:`.request_values`).

Those modules are engine-neutral; what they need of an engine is the next token's log-probabilities
after a prompt, with the KV cache reused and kept (``_prefill_logprobs``), and its vocabulary size
(``_vocab_size``). So ``local`` decides the same way on transformers and on llama.cpp.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentkit.backends.base import ModelRequest
from agentkit.backends.local.constraints import GrammarCache, build_grammar, tool_names
from agentkit.backends.local.request_values import value_source
from agentkit.backends.local.several import asks_for_several
from agentkit.messages import AssistantMessage, Message, ToolMessage, UserMessage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agentkit.backends.local.jobs import Decoded, DecodeJob
    from agentkit.backends.local.prompting import PromptRenderer


def turn_choice(messages: Sequence[Message], *, after_user: str) -> str:
    """The tool choice a reply gets from where the conversation stands: ``after_user`` right after a
    user message, an answer (``"none"``) after successful tool results, another call (``"required"``)
    after a failed one."""
    failed = False
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            failed = failed or message.is_error
        elif isinstance(message, AssistantMessage) and message.tool_calls:
            return "required" if failed else "none"
        elif isinstance(message, UserMessage):
            return after_user
    return "auto"


class DecisionPath:
    """What a reply may be (:meth:`tool_choice`, :meth:`decide`, the grammar), and several calls
    decoded one at a time. Mixed into ``InProcessBackend``, which sets the options and supplies the
    members declared below."""

    if TYPE_CHECKING:  # supplied by InProcessBackend
        constrained: bool
        call_then_answer: bool
        parallel_calls: bool
        decide_calls: bool
        call_threshold: float
        max_calls: int | None
        stop_threshold: float
        advance_on_repeat: bool
        distinct_values: bool
        count_from_request: bool
        values_from_request: bool
        last_decision: dict[str, Any] | None
        last_calls: dict[str, Any] | None
        _call_format: str | None
        _stop_ids: frozenset[int]
        _run_lock: threading.Lock

        def ensure_loaded(self) -> PromptRenderer: ...
        def prompt_ids(self, request: ModelRequest) -> list[int]: ...
        def _grammar_cache(self) -> GrammarCache: ...
        def _run(self, prompt: list[int], job: DecodeJob, *, first: bool) -> Decoded: ...
        def _next_logprobs(self, prompt: list[int]) -> Any: ...
        def _vocab_size(self) -> int: ...

    def tool_choice(self, request: ModelRequest) -> str:
        """The request's tool choice, adjusted where ``call_then_answer`` or ``decide_calls`` applies
        (``call_then_answer`` wins): ``"decide"`` means the decision step chooses (see :meth:`decide`)."""
        if not (self.constrained and request.tools and request.tool_choice == "auto"):
            return request.tool_choice
        if self.call_then_answer:
            return turn_choice(request.messages, after_user="required")
        if self.decide_calls:
            return turn_choice(request.messages, after_user="decide")
        return request.tool_choice

    def decide(self, request: ModelRequest) -> str:
        """The tool choice this request's reply is decoded under, running the decision step when
        :meth:`tool_choice` says ``"decide"`` (its record is kept in ``last_decision``)."""
        from agentkit.backends.local import decision

        choice = self.tool_choice(request)
        self.last_decision = None
        if choice != "decide":
            return choice
        question = decision.last_user_text(request.messages)
        log_odds = None
        if decision.needs_model(question, request.tools):
            self.ensure_loaded()  # the call syntax is known once the model is
            if self._grammar(request, "required") is None:
                return "auto"  # no grammar for this model's call syntax: nothing to decide with
            log_odds = self._call_log_odds(request)
        made = decision.decide(question, request.tools, log_odds, self.call_threshold)
        self.last_decision = made.to_json()
        return made.choice

    def _call_log_odds(self, request: ModelRequest) -> float:
        """The first token's log-odds of a call against an answer, under the reply grammar, minus the
        same for a content-free request (:func:`~agentkit.backends.local.decision.content_free`): what
        the request itself adds, whatever the system prompt and tools push towards. The request's
        prompt is run last and its cache kept, so decoding the reply afterwards prefills one token."""
        from agentkit.backends.local import decision
        from agentkit.backends.local.constraints import start_tokens

        grammars = self._grammar_cache()
        masks = []
        for choice in ("required", "none"):
            grammar = build_grammar(request.tools, tool_choice=choice, output_schema=request.output_schema)
            masks.append(start_tokens(grammars.matcher(grammar or ""), self._vocab_size()))
        reference = decision.call_log_odds(
            self._next_logprobs(self.prompt_ids(decision.content_free(request))), *masks
        )
        return decision.call_log_odds(self._next_logprobs(self.prompt_ids(request)), *masks) - reference

    def _most_calls(self) -> int | None:
        return self.max_calls if self.parallel_calls else 1

    def _grammar(self, request: ModelRequest, choice: str) -> str | None:
        if not self.constrained:
            return None
        if request.tools and self._call_format != "hermes":
            return None  # no grammar for this model's call syntax: leave calls and answers free
        return build_grammar(
            request.tools,
            tool_choice=choice,
            output_schema=request.output_schema,
            calls=(1, self._most_calls()),
            request_text=value_source(request.messages) if self.values_from_request else None,
        )

    def _call_by_call(self, choice: str) -> bool:
        """Calls are decoded one at a time when the reply must call and may hold several."""
        most = self._most_calls()
        return choice not in ("auto", "none") and (most is None or most > 1)

    def _decode_calls(self, request: ModelRequest, choice: str, prompt: list[int], job: DecodeJob) -> Decoded:
        """The reply's calls, one at a time (:func:`~agentkit.backends.local.call_loop.decode_calls`);
        how it ended is kept in ``last_calls``."""
        from agentkit.backends.local.call_loop import CALL_SEPARATOR, decode_calls
        from agentkit.backends.local.jobs import Decoded
        from agentkit.parsing import parse_tool_calls

        names = tool_names(request.tools)
        source = value_source(request.messages) if self.values_from_request else None
        grammars = self._grammar_cache()
        started = [True]

        def grammar_for(previous: Any, advance: bool, distinct: Any = None) -> str | None:
            return build_grammar(
                request.tools,
                tool_choice=choice,
                output_schema=request.output_schema,
                calls=(1, 1),
                request_text=source,
                previous_calls=previous,
                advance=advance,
                distinct=distinct,
            )

        def matcher_for(previous: Any) -> Any:
            return grammars.matcher(grammar_for(previous, False) or "")

        def advance_for(previous: Any) -> Any:
            grammar = grammar_for(previous, True)
            return grammars.matcher(grammar) if grammar is not None else None

        def distinct_for(previous: Any, call: tuple[str, dict[str, Any]]) -> Any:
            grammar = grammar_for(previous, False, call)
            return grammars.matcher(grammar) if grammar is not None else None

        def decode(ids: list[int], matcher: Any, budget: int) -> Decoded:
            first, started[0] = started[0], False
            return self._run(ids, replace(job, matcher=matcher, max_new_tokens=budget), first=first)

        def parse(text: str) -> tuple[str, dict[str, Any]] | None:
            calls = parse_tool_calls(text, formats=["hermes"], tool_names=names).tool_calls
            ok = len(calls) == 1 and calls[0].arguments_error is None
            return (calls[0].name, dict(calls[0].arguments)) if ok else None

        out = decode_calls(
            prompt=prompt,
            decode=decode,
            next_logprobs=self._next_logprobs,
            matcher_for=matcher_for,
            parse=parse,
            separator=self.ensure_loaded().chat.encode(CALL_SEPARATOR),
            stop_ids=sorted(self._stop_ids),
            max_calls=self.max_calls if self.max_calls is not None else 2**31,
            max_new_tokens=job.max_new_tokens,
            stop_threshold=self.stop_threshold,
            advance_for=advance_for if self.advance_on_repeat and source is not None else None,
            distinct_for=distinct_for if self.distinct_values and source is not None else None,
            wants_more=(
                functools.partial(asks_for_several, source)
                if self.count_from_request and source is not None
                else None
            ),
        )
        self.last_calls = {
            "stop_log_odds": out.stop_log_odds,
            "dropped_repeat": out.dropped_repeat,
            "advanced": out.advanced,
            "counted": out.counted,
            "distinct": out.distinct,
        }
        return Decoded(out.ids, out.text, out.finish_reason, 0)

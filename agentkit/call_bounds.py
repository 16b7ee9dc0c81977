"""Tool calls the conversation could not carry, refused as a reply arrives (:func:`bound_tool_calls`).

The latest assistant message is never cut from a request, so a reply whose calls are too large for the
context window, nested too deep for JSON encoders, not JSON at all, or more than the window could answer
would end the run at the next request (``ContextOverflowError``, or a serialization error deeper
down). The run loop passes every reply through here before it enters the history; what is refused goes
back to the model as that call's error result, so the run goes on.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from agentkit.messages import (
    AssistantMessage,
    ToolCall,
    measure_arguments,
    new_call_id,
)

MAX_NAME_CHARS = 64
"""No tool can have a longer name (OpenAI's limit, enforced by ``check_tool_name``)."""

MAX_ID_CHARS = 256
MAX_CALL_CHARS = 1_000_000
"""The most characters the tool calls of one reply may keep, context window or not."""

CALL_SHARE = 0.5
"""The tool calls of one reply may take at most this share of the tokens a request's messages may take:
the rest is for the system prompt, the task and the calls' results."""

MIN_CALL_TOKENS = 160
"""Tokens of that share each call of a reply is counted as taking at least, with its result (a refused
call's marker and its error): a reply with more calls than fit keeps only the first ones."""


class _TextCounter(Protocol):
    def count_text(self, text: str) -> int: ...


class CallBudget(Protocol):
    """What a reply's calls are measured against: ``limit`` tokens for a request's messages, counted by
    ``counter`` (an :class:`agentkit.context.ContextWindow` is one)."""

    @property
    def limit(self) -> int: ...

    @property
    def counter(self) -> _TextCounter: ...


def bound_tool_calls(
    message: AssistantMessage, budget: CallBudget | None = None, call_ids: set[str] | None = None
) -> AssistantMessage:
    """``message`` with every tool call the conversation could not carry refused, as the reply arrives.

    The latest assistant message is never cut from a request, so calls too large for the context window
    (megabytes of arguments, a name of 100,000 characters, hundreds of calls at once), nested too deep
    for JSON encoders or holding values that are not JSON would end the run at the next request. Such
    a call keeps its id, so its result pairs with it; its arguments become a short marker with
    ``arguments_error`` saying why, which the registry sends back to the model as the call's result,
    and an overlong name becomes a short marker (no tool has such a name). Calls are admitted in order
    while they fit ``CALL_SHARE`` of ``budget`` (and :data:`MAX_CALL_CHARS`). A reply with more calls
    than the window could hold with their results (:data:`MIN_CALL_TOKENS` each) keeps the first ones,
    and a note in its text tells the model how many more were not kept.

    Ids: a call gets a fresh id when its own is absurd (over :data:`MAX_ID_CHARS`) or repeats one in
    ``call_ids`` (the conversation's earlier calls: some servers number calls ``call_0``, ``call_1``
    afresh each turn, and a session keeps one result per id) or an earlier call of this reply;
    ``call_ids`` is updated with the ids kept. Returns ``message`` itself when nothing changed; small
    replies cost one walk over each call's arguments and no token counting.
    """
    calls = message.tool_calls
    if not calls:
        return message
    seen = call_ids if call_ids is not None else set()
    allowance = int(budget.limit * CALL_SHARE) if budget is not None else None
    room = max(allowance // MIN_CALL_TOKENS, 1) if allowance is not None else MAX_CALL_CHARS // 1000
    if len(calls) <= room and _plainly_fine(calls, seen, allowance):
        seen.update(call.id for call in calls)
        return message
    sized = [_checked(call) for call in calls[:room]]
    ids = {call.id for call, _ in sized}
    if len(ids) < len(sized) or not seen.isdisjoint(ids):  # an id repeats
        taken: set[str] = set()  # this reply's ids so far
        for index, (call, chars) in enumerate(sized):
            if call.id in taken or call.id in seen:
                sized[index] = call.model_copy(update={"id": new_call_id()}), chars
            taken.add(sized[index][0].id)
    seen.update(call.id for call, _ in sized)
    total = sum(chars for _, chars in sized)
    if total <= MAX_CALL_CHARS and (allowance is None or total * 4 <= allowance):
        bounded = [call for call, _ in sized]  # surely fits: no tokenizer takes over 4 tokens a character
    else:
        bounded = _within(sized, budget, allowance)
    dropped = len(calls) - len(bounded)
    if not dropped and all(new is old for new, old in zip(bounded, calls, strict=True)):
        return message
    update: dict[str, Any] = {"tool_calls": bounded}
    if dropped:  # told where the model reads it: in its own reply
        note = (
            f"[{dropped} more tool calls of this reply were not kept: the context window has room for the "
            f"results of {room} calls at once. Make them again, fewer at a time.]"
        )
        update["content"] = f"{message.content}\n\n{note}" if message.content else note
    return message.model_copy(update=update)


def _plainly_fine(calls: list[ToolCall], seen: set[str], allowance: int | None) -> bool:
    """The common case in one pass: sensible names and new ids, plain JSON arguments, all surely small
    enough (no tokenizer takes over 4 tokens a character)."""
    total = 0
    for call in calls:
        if (
            call.arguments_error is not None
            or len(call.name) > MAX_NAME_CHARS
            or not 0 < len(call.id) <= MAX_ID_CHARS
            or call.id in seen
        ):
            return False
        problem, size = measure_arguments(call.arguments)
        if problem is not None:
            return False
        total += len(call.name) + size
    if total > MAX_CALL_CHARS or (allowance is not None and total * 4 > allowance):
        return False
    return len(calls) == 1 or len({call.id for call in calls}) == len(calls)


def _checked(call: ToolCall) -> tuple[ToolCall, int]:
    """``call`` with an absurd name or id replaced and arguments that are not plain JSON refused, and
    about how many characters it takes."""
    update: dict[str, Any] = {}
    if len(call.name) > MAX_NAME_CHARS:
        update["name"] = f"{call.name[:MAX_NAME_CHARS]}...({len(call.name)} characters)"
    if len(call.id) > MAX_ID_CHARS or not call.id:
        update["id"] = new_call_id()
    if call.arguments_error is not None:
        size = len(call.raw_arguments or "")
    else:
        problem, size = measure_arguments(call.arguments)
        if problem is not None:
            update.update(_refusal(call, problem + "; send plain JSON arguments", problem))
            size = 0
    if update:
        call = call.model_copy(update=update)
    return call, len(call.name) + size


def _within(
    sized: list[tuple[ToolCall, int]], budget: CallBudget | None, allowance: int | None
) -> list[ToolCall]:
    """The calls in order, each kept while it fits what the ones before it left."""
    chars_left, tokens_left = MAX_CALL_CHARS, allowance
    out: list[ToolCall] = []
    for call, chars in sized:
        tokens = None
        fits = chars <= chars_left
        if fits and budget is not None and tokens_left is not None:
            # Over 16 characters a token on average no tokenizer gets: surely too large, not counted.
            fits = chars <= tokens_left * 16
            if fits:
                tokens = budget.counter.count_text(_call_text(call))
                fits = tokens <= tokens_left
        if not fits:
            call = _too_large(call, chars, tokens, allowance)
            chars, tokens = len(_call_text(call)), None
        chars_left -= chars
        if tokens_left is not None:
            tokens_left -= tokens if tokens is not None else chars
        out.append(call)
    return out


def _call_text(call: ToolCall) -> str:
    return call.name + (call.raw_arguments or json.dumps(call.arguments, ensure_ascii=False, default=str))


def _too_large(call: ToolCall, chars: int, tokens: int | None, allowance: int | None) -> ToolCall:
    if call.arguments_error is not None:  # unparseable: the model is told already; keep a short excerpt
        raw = call.raw_arguments or ""
        return call.model_copy(update={"raw_arguments": f"{raw[:40]}...({len(raw)} characters)"})
    measured = f"{chars} characters" + (f", {tokens} tokens" if tokens is not None else "")
    room = f"{allowance} tokens" if allowance is not None else f"{MAX_CALL_CHARS} characters"
    problem = (
        f"the arguments ({measured}) are too large for the context window (the calls of one reply may take "
        f"{room}) and were not kept; send smaller arguments or fewer calls at once"
    )
    return call.model_copy(update=_refusal(call, problem, f"{chars} characters, too large"))


def _refusal(call: ToolCall, problem: str, summary: str) -> dict[str, Any]:
    """The fields of a refused call: a marker the model sees in its own call (the digest keeps different
    refused calls apart, and the same one repeated recognisable to the loop guard), and the reason."""
    marker = f"arguments not kept ({summary}; digest {_digest(call.arguments)})"
    return {"arguments": {"not_kept": marker}, "raw_arguments": None, "arguments_error": problem}


def _digest(value: Any) -> str:
    """A short digest of a JSON-like value, walked without recursion (any depth, any size)."""
    digest = hashlib.blake2b(digest_size=6)
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        digest.update(type(item).__name__.encode())
        if isinstance(item, dict):
            for key, sub in item.items():
                digest.update(str(key).encode("utf-8", "surrogatepass") + b"\x00")
                stack.append(sub)
        elif isinstance(item, list | tuple):
            digest.update(len(item).to_bytes(8, "little"))
            stack.extend(item)
        elif isinstance(item, str):
            digest.update(item.encode("utf-8", "surrogatepass") + b"\x00")
        elif isinstance(item, int):
            digest.update(item.to_bytes(item.bit_length() // 8 + 1, "little", signed=True))
        elif isinstance(item, float):
            digest.update(repr(item).encode())
    return digest.hexdigest()

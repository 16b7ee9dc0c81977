"""What every session store shares: how a message becomes a journal entry and back, the order a
step's results are loaded in, and what a listing reports.

An entry is the message as JSON, written so that whatever a run holds in memory survives the round
trip (pydantic's own JSON cannot do that): NaN and Infinity stay numbers (Python's ``json`` tokens);
a lone surrogate (``"a\\ud800b"``: the ``files`` tools produce one for a file name that is not UTF-8)
is kept as a ``\\ud800`` escape, since such a string has no UTF-8 form. The one replacement: tool-call
arguments nested too deep for JSON to hold (about 900 levels) are journaled as ``{}`` with
``arguments_error`` saying so (and the model's ``raw_arguments`` text, when it sent text), so a resumed
run sends that call back to the model as an error instead of losing it.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from agentkit.errors import SessionError
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage

TOO_DEEP = "these arguments were nested too deeply to journal; the session kept an empty object instead"


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One session of a store, as listed."""

    session_id: str
    created_at: float
    updated_at: float
    messages: int
    metadata: dict[str, Any]


@functools.cache
def _message_adapter() -> TypeAdapter[Message]:
    """Built on first use: a TypeAdapter costs ~10 ms to create, too much for `import agentkit`."""
    return TypeAdapter(Message)


def _call_fields(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "raw_arguments": call.raw_arguments,
        "arguments_error": call.arguments_error,
    }


def _fields(message: Message) -> dict[str, Any]:
    fields = {name: getattr(message, name) for name in type(message).model_fields}
    if isinstance(message, AssistantMessage):
        fields["tool_calls"] = [_call_fields(call) for call in message.tool_calls]
    return fields


def _dump(fields: dict[str, Any], *, ascii_only: bool) -> str:
    return json.dumps(fields, ensure_ascii=ascii_only, separators=(",", ":"), default=to_jsonable_python)


def _without_deep_arguments(fields: dict[str, Any]) -> dict[str, Any]:
    calls = []
    for call in fields.get("tool_calls", ()):
        try:
            json.dumps(call["arguments"], default=to_jsonable_python)
        except (RecursionError, ValueError):
            call = {**call, "arguments": {}, "arguments_error": TOO_DEEP}
        calls.append(call)
    return {**fields, "tool_calls": calls}


def encode_message(message: Message) -> str:
    """The journal entry for ``message`` (JSON text that is valid UTF-8; see the module docstring)."""
    fields = _fields(message)
    try:
        body = _dump(fields, ascii_only=False)
    except (RecursionError, ValueError):  # nesting too deep for the encoder (or a cycle)
        fields = _without_deep_arguments(fields)
        body = _dump(fields, ascii_only=False)
    if not body.isascii():
        try:
            body.encode()
        except UnicodeEncodeError:  # a lone surrogate: escape it (and all non-ASCII) as \\uXXXX
            body = _dump(fields, ascii_only=True)
    return body


def decode_message(body: str) -> Message:
    """The message a journal entry holds; raises ``ValueError`` (or ``RecursionError``) if none."""
    adapter = _message_adapter()
    try:
        return adapter.validate_json(body)  # the fast path; it refuses \ud800 escapes and deep nesting
    except ValidationError:
        return adapter.validate_python(json.loads(body))


def corrupt_entry(where: str, exc: BaseException) -> SessionError:
    """The error for an entry :func:`decode_message` refused; ``where`` names the entry."""
    detail = str(exc) if isinstance(exc, ValidationError) else f"not valid JSON ({exc!r:.200})"
    return SessionError(
        f"{where} is not a valid message: {detail}. The journal was changed outside agentkit: repair or "
        "remove that entry, or delete the session"
    )


def valid_session_id(session_id: str | None, where: str) -> str:
    """``session_id``, or a new random one when it is ``None`` or empty; refused when no store can
    hold it as text (a lone surrogate, e.g. from a command line that was not UTF-8)."""
    if not session_id:
        return uuid.uuid4().hex
    if not isinstance(session_id, str):
        raise SessionError(f"a session id must be a string, got {type(session_id).__name__} ({where})")
    try:
        session_id.encode()
    except UnicodeEncodeError as exc:
        raise SessionError(f"session id {session_id!r} is not valid text (UTF-8) ({where})") from exc
    return session_id


def dump_metadata(metadata: dict[str, Any] | None) -> str:
    try:
        return json.dumps(metadata or {}, default=to_jsonable_python)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SessionError(f"session metadata must be JSON-serializable: {exc}") from exc


def load_metadata(text: str) -> dict[str, Any]:
    """A listing shows a session whose metadata was damaged outside agentkit, with that said."""
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable_metadata": text}
    return value if isinstance(value, dict) else {"unreadable_metadata": text}


def in_call_order(messages: list[Message]) -> list[Message]:
    """Put each step's tool results (journaled as they finished) back in the order of its calls."""
    out: list[Message] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        out.append(message)
        i += 1
        if isinstance(message, AssistantMessage) and message.tool_calls:
            j = i
            while j < len(messages) and isinstance(messages[j], ToolMessage):
                j += 1
            order = {call.id: n for n, call in enumerate(message.tool_calls)}
            results = messages[i:j]
            results.sort(
                key=lambda m: order.get(m.tool_call_id, len(order)) if isinstance(m, ToolMessage) else 0
            )
            out.extend(results)
            i = j
    return out

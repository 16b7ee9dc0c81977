"""Conversion between agentkit requests/responses and OpenAI chat-completions payloads.

Pure functions on plain dicts: no SDK objects here, so they are cheap to test and work the same for
whole responses and for replies assembled from a stream.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentkit.backends.base import ModelRequest, ModelResponse, ModelSettings
from agentkit.errors import InvalidResponseError
from agentkit.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
    new_call_id,
    parse_arguments,
    preview,
)
from agentkit.tool_spec import ToolSpec


def to_openai(message: Message) -> dict[str, Any]:
    """Convert one message to an OpenAI chat-completions dict."""
    if isinstance(message, AssistantMessage):
        out: dict[str, Any] = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.raw_arguments
                        if call.raw_arguments is not None
                        else json.dumps(call.arguments, ensure_ascii=False),
                    },
                }
                for call in message.tool_calls
            ]
        return out
    if isinstance(message, ToolMessage):
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "name": message.name,
            "content": message.content,
        }
    return {"role": message.role, "content": message.content}


def _content_text(content: Any) -> str | None:
    """OpenAI content may be a string or a list of typed parts; keep the text."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return str(content)


def from_openai(data: dict[str, Any]) -> Message:
    """Convert one OpenAI chat-completions dict to a typed message."""
    role = data.get("role")
    if role == "assistant":
        calls = [_call_from_wire(raw) for raw in data.get("tool_calls") or []]
        return AssistantMessage(content=_content_text(data.get("content")), tool_calls=calls)
    if role == "tool":
        return ToolMessage(
            tool_call_id=data["tool_call_id"],
            name=data.get("name", ""),
            content=_content_text(data.get("content")) or "",
        )
    if role in ("system", "developer"):
        return SystemMessage(content=_content_text(data.get("content")) or "")
    if role == "user":
        return UserMessage(content=_content_text(data.get("content")) or "")
    raise ValueError(f"unknown message role {role!r}; expected system, user, assistant or tool")


FINAL_ANSWER_TOOL = "final_answer"
"""The tool a model calls to give a structured answer when the server has no ``response_format``."""


def wire_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages in the chat-completions format, keeping every ``tool_call_id`` exactly as it was.

    Two adjustments to :func:`to_openai` for real servers: an assistant message
    without text gets ``""`` rather than null (llama-cpp-python rejects null with an HTTP 500), and a
    tool message carries no ``name`` (not part of the chat-completions tool message).
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        entry = to_openai(message)
        if isinstance(message, AssistantMessage) and entry["content"] is None:
            entry["content"] = ""
        elif isinstance(message, ToolMessage):
            del entry["name"]
        out.append(entry)
    return out


def effective_tool_choice(request: ModelRequest, *, reset_after_tool_result: bool) -> str:
    """The tool choice for this step.

    A forced choice (``required`` or a tool name) would make the model call tools forever; once the
    model has called a tool since the last user message, ``reset_after_tool_result`` turns it back to
    ``auto`` so the model can answer with the result.
    """
    choice = request.tool_choice
    if choice in ("auto", "none") or not reset_after_tool_result:
        return choice
    for message in reversed(request.messages):
        if isinstance(message, UserMessage):
            break
        if isinstance(message, ToolMessage):
            return "auto"
    return choice


def wire_tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def wire_tools(specs: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tool specs as the chat-completions ``tools`` array."""
    return [{"type": "function", "function": spec.as_dict()} for spec in specs]


def final_answer_tool(schema: dict[str, Any]) -> ToolSpec:
    """A tool whose arguments are the structured answer (wrapped in ``value`` unless an object)."""
    return ToolSpec(
        FINAL_ANSWER_TOOL,
        "Give the final answer to the user. Call this once you have everything you need.",
        schema if schema.get("type") == "object" else _wrapped(schema),
    )


def _wrapped(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"value": schema}, "required": ["value"]}


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "final_answer", "schema": schema, "strict": False}}


def settings_params(settings: ModelSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(params, extra_body)`` for the SDK: standard fields, and server-specific ones (``top_k`` and
    ``settings.extra``) sent as they are."""
    params: dict[str, Any] = {}
    if settings.temperature is not None:
        params["temperature"] = settings.temperature
    if settings.top_p is not None:
        params["top_p"] = settings.top_p
    if settings.max_tokens is not None:
        params["max_tokens"] = settings.max_tokens
    if settings.stop:
        params["stop"] = list(settings.stop)
    if settings.seed is not None:
        params["seed"] = settings.seed
    extra: dict[str, Any] = dict(settings.extra)
    if settings.top_k is not None:
        extra["top_k"] = settings.top_k
    return params, extra


def parse_tool_calls(raw_calls: object) -> list[ToolCall]:
    """Typed tool calls from wire dicts: arguments parsed (with lenient repair), ids kept exactly,
    a fresh id where the server gave none or repeated one (so every result pairs with one call).

    Total over whatever a server sends: a call that is not in the chat-completions form (not an
    object, arguments that are not a string or object, a name that is not a string) is kept with
    ``arguments_error`` saying so, which goes back to the model as the call's result.
    """
    if not isinstance(raw_calls, list):  # one call not wrapped in a list (or something else: told below)
        raw_calls = [raw_calls]
    calls: list[ToolCall] = []
    seen: set[str] = set()
    for raw in raw_calls:
        call = _call_from_wire(raw)
        if call.id in seen:
            call = call.model_copy(update={"id": new_call_id()})
        seen.add(call.id)
        calls.append(call)
    return calls


def _call_from_wire(raw: object) -> ToolCall:
    entry = raw if isinstance(raw, dict) else {}
    function = entry.get("function")
    fields = function if isinstance(function, dict) else {}
    name, raw_args, call_id = fields.get("name"), fields.get("arguments"), entry.get("id")
    arguments, error = parse_arguments(raw_args)
    if not isinstance(raw, dict) or not isinstance(function, dict | None):
        error = (
            f"the call was not in the tool-call form ({preview(raw)}); "
            'call a tool as {"name": ..., "arguments": {...}}'
        )
    elif name is not None and not isinstance(name, str):
        error = f"the tool name must be a string, got {type(name).__name__} {preview(name)}"
    return ToolCall(
        id=call_id if isinstance(call_id, str) and call_id else new_call_id(),
        name=name if isinstance(name, str) else "",
        arguments=arguments if error is None else {},
        raw_arguments=raw_args if error is not None and isinstance(raw_args, str) else None,
        arguments_error=error,
    )


def usage_from(data: object) -> Usage:
    """Token usage from a response's ``usage``; counts that are not non-negative numbers read as 0."""
    if not isinstance(data, dict):
        return Usage(requests=1)
    return Usage(
        input_tokens=_token_count(data.get("prompt_tokens")),
        output_tokens=_token_count(data.get("completion_tokens")),
        requests=1,
    )


def _token_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value) if 0 <= value < 2**53 else 0


def invalid_response(problem: str) -> Exception:
    """The typed error for a reply that is not a chat completion."""
    return InvalidResponseError(
        f"the server's response is not a chat completion: {problem}. "
        "To fix: check that the base URL points at an OpenAI-compatible /v1 API."
    )


def reply_text(content: object) -> str | None:
    """A reply's text: a string, ``None``, or a list of typed parts (their text joined)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (p if isinstance(p, str) else p.get("text") if isinstance(p, dict) else None for p in content)
        return "".join(p for p in parts if isinstance(p, str))
    raise invalid_response(f"the message content must be text, got {type(content).__name__}")


def lift_final_answer(message: AssistantMessage, schema: dict[str, Any] | None) -> AssistantMessage:
    """Turn a call of the final-answer tool into the JSON text answer the agent loop validates.

    When the model called other tools in the same reply those run first; the final-answer call is
    then dropped (the model will answer again with their results).
    """
    finals = [c for c in message.tool_calls if c.name == FINAL_ANSWER_TOOL]
    if not finals or schema is None:
        return message
    others = [c for c in message.tool_calls if c.name != FINAL_ANSWER_TOOL]
    if others:
        return AssistantMessage(content=message.content, tool_calls=others)
    call = finals[0]
    if call.arguments_error is not None:
        text = call.raw_arguments or ""
    elif schema.get("type") == "object":
        text = json.dumps(call.arguments, ensure_ascii=False)
    else:
        text = json.dumps(call.arguments.get("value"), ensure_ascii=False)
    return AssistantMessage(content=text)


def response_from_dict(data: dict[str, Any]) -> ModelResponse:
    """A :class:`ModelResponse` from a chat-completions response body; :class:`InvalidResponseError`
    when its structure is not one (the content of each tool call is the model's, checked later)."""
    choices = data.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise invalid_response(f"no choices in {json.dumps(data, default=str)[:300]}")
    choice = choices[0]
    message = choice.get("message") or {}
    if not isinstance(message, dict):
        raise invalid_response(f"the choice's message is a {type(message).__name__}, not an object")
    finish = choice.get("finish_reason")
    model = data.get("model")
    return ModelResponse(
        message=AssistantMessage(
            content=reply_text(message.get("content")),
            tool_calls=parse_tool_calls(message.get("tool_calls") or []),
        ),
        usage=usage_from(data.get("usage")),
        finish_reason=finish if isinstance(finish, str) else None,
        model=model if isinstance(model, str) else None,
    )


def request_body(payload: dict[str, Any]) -> bytes:
    """The JSON bytes of a request, written here rather than by the SDK so that text no UTF-8 can hold
    (a lone surrogate: a tool that listed a file name that is not UTF-8, a model that wrote half an
    emoji) is sent as U+FFFD instead of failing the request."""
    try:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN or an infinity where JSON has no place for one
        from agentkit.errors import ConfigurationError

        raise ConfigurationError(
            f"the request cannot be written as JSON ({exc}): check the settings and tool schemas for "
            "NaN or infinite numbers"
        ) from exc
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Paired surrogates become the character they encode; lone ones become U+FFFD.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()

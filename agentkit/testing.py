"""Test helpers: a backend that replays scripted responses and records what it was asked.

backend = ScriptedBackend([call("add", a=1, b=2), "The sum is 3."])
result = Agent(model=backend, tools=[add]).run("What is 1 + 2?")
backend.assert_used_up()
assert backend.requests[1].messages[-1].content == "3"
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from agentkit.backends.base import BaseBackend, ModelRequest, ModelResponse, StreamChunk, TextDelta
from agentkit.errors import BackendError, ConfigurationError
from agentkit.messages import AssistantMessage, ToolCall, Usage

ScriptItem = ModelResponse | AssistantMessage | str | ToolCall | list[ToolCall] | BaseException
"""One scripted reply: text, one or more tool calls, a full message or response, or an exception to raise."""

ScriptFunction = Callable[[ModelRequest], ScriptItem | Awaitable[ScriptItem]]


class ScriptExhaustedError(BackendError):
    """The backend was asked for more responses than it was given."""


def call(name: str, /, **arguments: Any) -> ToolCall:
    """A tool call for a script: ``call("add", a=1, b=2)``."""
    return ToolCall(name=name, arguments=arguments)


def _to_response(item: ScriptItem) -> ModelResponse:
    if isinstance(item, ModelResponse):
        return item
    if isinstance(item, AssistantMessage):
        message = item
    elif isinstance(item, str):
        message = AssistantMessage(content=item)
    elif isinstance(item, ToolCall):
        message = AssistantMessage(tool_calls=[item])
    elif isinstance(item, list):
        message = AssistantMessage(tool_calls=list(item))
    else:
        raise TypeError(f"cannot script a response from {type(item).__name__}")
    return ModelResponse(
        message=message,
        usage=Usage(requests=1),
        finish_reason="tool_calls" if message.tool_calls else "stop",
        model="scripted",
    )


class ScriptedBackend(BaseBackend):
    """Replays responses in order (or computes each from the request) and records every request.

    Streaming splits text replies into word-sized deltas, like a real server would.
    """

    def __init__(
        self,
        script: Sequence[ScriptItem] | ScriptFunction,
        *,
        context_window: int = 8192,
    ) -> None:
        self._function: ScriptFunction | None = None
        self._script: list[ScriptItem] = []
        if callable(script):
            self._function = script
        else:
            self._script = list(script)
        self._position = 0
        self.context_window = context_window
        self.requests: list[ModelRequest] = []

    @property
    def name(self) -> str:
        return "scripted"

    @property
    def remaining(self) -> int:
        """Scripted responses not yet used (always 0 for a function script)."""
        return len(self._script) - self._position

    async def _next_item(self, request: ModelRequest) -> ScriptItem:
        if self._function is not None:
            item = self._function(request)
            if inspect.isawaitable(item):
                item = await item
            return item
        if self._position >= len(self._script):
            raise ScriptExhaustedError(
                f"ScriptedBackend was asked for response #{self._position + 1} "
                f"but the script has only {len(self._script)}"
            )
        item = self._script[self._position]
        self._position += 1
        return item

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        item = await self._next_item(request)
        if isinstance(item, BaseException):
            raise item
        return _to_response(item)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamChunk]:
        response = await self.complete(request)
        for piece in re.findall(r"\s*\S+\s*|\s+", response.message.content or ""):
            yield TextDelta(piece)
        yield response

    def assert_used_up(self) -> None:
        """Fail if any scripted response was never requested."""
        if self.remaining:
            raise AssertionError(
                f"ScriptedBackend: {self.remaining} of {len(self._script)} scripted responses were not used"
            )


def _script_item(raw: Any, where: str) -> ScriptItem:
    """One item of a JSON script file as a ScriptItem (see :func:`scripted_from_file`)."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{where}: expected a string or an object, got {type(raw).__name__}")
    if "error" in raw:
        return BackendError(str(raw["error"]))
    unknown = set(raw) - {"content", "tool_calls", "usage", "delay_s"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    try:
        calls = [
            ToolCall(
                name=c["name"], arguments=c.get("arguments", {}), **({"id": c["id"]} if "id" in c else {})
            )
            for c in raw.get("tool_calls", [])
        ]
        usage = Usage(requests=1, **raw.get("usage", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: malformed tool call or usage ({exc})") from None
    message = AssistantMessage(content=raw.get("content"), tool_calls=calls)
    return ModelResponse(
        message=message, usage=usage, finish_reason="tool_calls" if calls else "stop", model="scripted"
    )


def scripted_from_file(path: str) -> ScriptedBackend:
    """A ScriptedBackend from a JSON file, for the hidden testing model string ``scripted:PATH``.

    The file holds a list; each item is a reply: a string (text), or an object with ``content``,
    ``tool_calls`` (``[{"name": ..., "arguments": {...}}]``), ``usage`` (``input_tokens``,
    ``output_tokens``) and ``delay_s`` (seconds to wait first), or ``{"error": "..."}`` to fail the
    call with a BackendError. A testing aid: it lets the CLI and examples run without a real model.
    """
    import asyncio  # only the file-backed script waits; `import agentkit.testing` stays light

    if not path:
        raise ConfigurationError("the scripted model needs a file: 'scripted:PATH.json'")
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read script {path!r}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"script {path!r} is not valid JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    if not isinstance(raw, list):
        raise ConfigurationError(f"script {path!r} must hold a JSON list of replies")
    items = [_script_item(item, f"{path}[{i}]") for i, item in enumerate(raw)]
    delays = [float(item.get("delay_s", 0)) if isinstance(item, dict) else 0.0 for item in raw]
    position = 0

    async def next_reply(request: ModelRequest) -> ScriptItem:
        nonlocal position
        if position >= len(items):
            raise ScriptExhaustedError(f"script {path!r} has only {len(items)} replies")
        item, delay = items[position], delays[position]
        position += 1
        if delay:
            await asyncio.sleep(delay)
        return item

    return ScriptedBackend(next_reply)

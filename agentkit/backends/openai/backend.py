"""``OpenAIBackend``: any OpenAI-compatible chat-completions API (OpenAI, vLLM, Ollama, llama.cpp).

One request per model call, through the official SDK with its own retries switched off: the one
:class:`~agentkit.retry.RetryPolicy` decides about retries. Features a server may lack are probed
by use and remembered per base URL (:mod:`agentkit.backends.openai.features`): when it rejects
``tools`` (``tool_mode="auto"``), the backend switches to text-mode tool calls; when it rejects
``response_format`` (with any status: llama-cpp-python answers 500), structured output moves to a
final-answer tool; when it rejects ``stream_options``, usage is taken without it; when a streamed
request with tools comes back empty, such requests are made whole.

The SDK client is bound to the event loop it was created on, and ``Agent.run`` uses a fresh loop
per call; so one client is kept per live event loop and reused for every step on that loop.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import logging
import os
import urllib.parse
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from agentkit.backends.base import BaseBackend, ModelRequest, ModelResponse, StreamChunk, TextDelta
from agentkit.backends.counting import TokenCounter
from agentkit.backends.openai import convert, textmode
from agentkit.backends.openai.counting import openai_counter
from agentkit.backends.openai.errors import (
    EmptyStreamError,
    RefusedConnection,
    ServerUnreachableError,
    context_overflow,
    rejects,
    translate,
    undecodable,
)
from agentkit.backends.openai.features import server_features
from agentkit.backends.openai.sizes import known_context_window
from agentkit.backends.openai.streaming import Delivered, StreamAssembler
from agentkit.errors import BadRequestError, ConfigurationError, TransientError
from agentkit.messages import AssistantMessage
from agentkit.retry import RetryPolicy

if TYPE_CHECKING:
    import openai

logger = logging.getLogger("agentkit.backends.openai")

ToolMode = Literal["native", "text", "auto"]
StructuredMode = Literal["json_schema", "tool", "auto"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_CONTEXT_WINDOW = 8192
"""Assumed when neither the user nor the table of hosted models knows the model's window."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one request is made: tools natively or in text; structured output by schema or tool."""

    text_tools: bool
    structured: Literal["json_schema", "tool"] | None
    stream_usage: bool


class OpenAIBackend(BaseBackend):
    """A backend for any OpenAI-compatible chat-completions API.

    Args:
        model: the model name the server knows (``gpt-4o-mini``, ``qwen2.5:0.5b``, ...).
        api_key: the key; default ``OPENAI_API_KEY``. Servers that need none (llama.cpp, vLLM,
            Ollama) get a placeholder when neither is set.
        base_url: the ``/v1`` API root; default ``OPENAI_BASE_URL``, else OpenAI's.
        timeout: seconds one request may take to connect and between bytes of the reply.
        retry: the retry policy for every call (default :class:`RetryPolicy()`).
        tool_mode: ``native`` (the API's ``tools``), ``text`` (instructions in the prompt, calls
            parsed from the reply), or ``auto``: native, falling back to text when the server rejects
            tools, and parsing tool calls out of the text when a model writes them there.
        structured_output: ``json_schema`` (``response_format``), ``tool`` (a final-answer tool), or
            ``auto``: the schema, falling back to the tool when the server rejects it.
        parallel_tool_calls: sent as is when not ``None``.
        reset_tool_choice: turn a forced ``tool_choice`` back to ``auto`` once the model called a tool
            since the last user message, so it can answer with the result instead of looping.
        context_window: the model's context size in tokens (the server does not say); default: the
            published size of a well-known hosted model (:mod:`agentkit.backends.openai.sizes`), else
            8192.
        default_headers: extra HTTP headers for every request.
        http_transport: the HTTP library under the SDK: ``aiohttp`` (faster with many concurrent
            runs), ``httpx``, or ``auto``: aiohttp when installed.
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        tool_mode: ToolMode = "auto",
        structured_output: StructuredMode = "auto",
        parallel_tool_calls: bool | None = None,
        reset_tool_choice: bool = True,
        context_window: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_transport: Literal["auto", "aiohttp", "httpx"] = "auto",
    ) -> None:
        if not model:
            raise ConfigurationError("OpenAIBackend needs a model name, e.g. 'openai:gpt-4o-mini'")
        if tool_mode not in ("native", "text", "auto"):
            raise ConfigurationError(f"tool_mode must be 'native', 'text' or 'auto', got {tool_mode!r}")
        if structured_output not in ("json_schema", "tool", "auto"):
            raise ConfigurationError(
                f"structured_output must be 'json_schema', 'tool' or 'auto', got {structured_output!r}"
            )
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if context_window is not None and context_window < 1:
            raise ConfigurationError(f"context_window must be positive, got {context_window}")
        self._model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        _check_base_url(self.base_url)
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key and self.base_url == DEFAULT_BASE_URL:
            raise ConfigurationError(
                "no API key for the OpenAI API: pass OpenAIBackend(api_key=...) or set OPENAI_API_KEY "
                "(or point base_url / OPENAI_BASE_URL at a server that needs no key)"
            )
        self._api_key = key or "not-needed"
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.tool_mode: ToolMode = tool_mode
        self.structured_output: StructuredMode = structured_output
        self.parallel_tool_calls = parallel_tool_calls
        self.reset_tool_choice = reset_tool_choice
        self.context_window = context_window or known_context_window(model) or DEFAULT_CONTEXT_WINDOW
        self.default_headers = dict(default_headers or {})
        if http_transport not in ("auto", "aiohttp", "httpx"):
            raise ConfigurationError(
                f"http_transport must be 'auto', 'aiohttp' or 'httpx', got {http_transport!r}"
            )
        if http_transport == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
            raise ConfigurationError("http_transport='aiohttp' needs aiohttp: pip install 'openai[aiohttp]'")
        self.http_transport = http_transport
        # What this server turned out to support, shared with every backend at the same base URL.
        self._features = server_features(self.base_url)
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[openai.AsyncOpenAI, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    @property
    def provider(self) -> str:
        return "openai"

    @property
    def model(self) -> str:
        return self._model

    def make_token_counter(self) -> TokenCounter:
        """o200k_base / cl100k_base from bpe-openai: exact for OpenAI's models, a calibrated estimate
        for others behind the same API."""
        return openai_counter(self.model)

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    # -- client ---------------------------------------------------------------------------------

    async def _client(self) -> openai.AsyncOpenAI:
        """The SDK client for the running event loop (created on first use on that loop).

        It is closed when that loop shuts down: an async generator parked at its ``yield`` is
        finalized by ``loop.shutdown_asyncgens()``, which ``asyncio.run`` (and so ``Agent.run``)
        awaits before closing the loop, so no connection outlives its loop.
        """
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            import openai

            client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=0,  # the one retry policy is agentkit's
                default_headers=self.default_headers or None,
                http_client=self._http_client(openai),
            )
            closer = _close_at_loop_shutdown(client)
            await closer.__anext__()
            entry = self._clients[loop] = (client, closer)
        return entry[0]

    def _http_client(self, openai: Any) -> Any:
        """The HTTP client under the SDK.

        Ours rather than the SDK's default, which closes itself on garbage collection by scheduling on
        whatever loop runs then (failing for a client of a finished loop). aiohttp (through the SDK's
        own adapter) when installed: with hundreds of requests in flight httpx's connection pool costs
        several times more CPU (see benchmarks/remote_concurrency.py).
        """
        transport = self.http_transport
        if transport == "auto":
            transport = "aiohttp" if importlib.util.find_spec("aiohttp") is not None else "httpx"
        if transport == "aiohttp":
            return openai.DefaultAioHttpClient()
        return openai.DefaultAsyncHttpxClient()

    async def aclose(self) -> None:
        """Close the client of the running loop (those of other loops close when their loop ends)."""
        entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()

    # -- planning -------------------------------------------------------------------------------

    def _plan(self, request: ModelRequest, *, streaming: bool) -> _Plan:
        features = self._features
        structured: Literal["json_schema", "tool"] | None = None
        if request.output_schema is not None:
            if self.structured_output == "auto":
                structured = "json_schema" if features.json_schema is not False else "tool"
            else:
                structured = self.structured_output
        native = (
            features.native_tools is not False if self.tool_mode == "auto" else self.tool_mode == "native"
        )
        return _Plan(
            text_tools=not native,
            structured=structured,
            stream_usage=streaming and features.stream_usage,
        )

    def _fallback(self, error: BadRequestError, plan: _Plan) -> _Plan | None:
        """A plan without the feature the server just rejected, or ``None`` if it was something else
        (a context overflow that merely mentions tools is not a rejection of tools)."""
        said = (error.server_message or str(error)).lower()
        if context_overflow(said):
            return None
        if plan.stream_usage and "stream_options" in said:
            self._features.stream_usage = False
            return replace(plan, stream_usage=False)
        if (
            plan.structured == "json_schema"
            and self.structured_output == "auto"
            and rejects(said, ("response_format", "json_schema"))
        ):
            logger.warning(
                "%s at %s rejected response_format (%s); using a final-answer tool",
                self.name,
                self.base_url,
                said[:200],
            )
            self._features.json_schema = False
            return replace(plan, structured="tool")
        if not plan.text_tools and self.tool_mode == "auto" and rejects(said, ("tool", "function")):
            logger.warning("%s rejected native tools (%s); using text-mode tool calls", self.name, said[:200])
            self._features.native_tools = False
            return replace(plan, text_tools=True)
        return None

    def _payload(self, request: ModelRequest, plan: _Plan) -> dict[str, Any]:
        tools = list(request.tools)
        choice = convert.effective_tool_choice(request, reset_after_tool_result=self.reset_tool_choice)
        schema = request.output_schema
        if plan.structured == "tool" and schema is not None:
            tools.append(convert.final_answer_tool(schema))
            if choice == "auto" and len(tools) == 1:
                choice = convert.FINAL_ANSWER_TOOL  # nothing else to call: ask for the answer directly
        params, extra_body = convert.settings_params(request.settings)
        payload: dict[str, Any] = {"model": self.model, **params}
        if plan.text_tools:
            payload["messages"] = textmode.rewrite(request.messages, textmode.instructions(tools, choice))
        else:
            payload["messages"] = convert.wire_messages(request.messages)
            if tools:
                payload["tools"] = convert.wire_tools(tools)
                payload["tool_choice"] = convert.wire_tool_choice(choice)
                if self.parallel_tool_calls is not None:
                    payload["parallel_tool_calls"] = self.parallel_tool_calls
        if plan.structured == "json_schema" and schema is not None:
            payload["response_format"] = convert.response_format(schema)
        if plan.stream_usage:
            payload["stream_options"] = {"include_usage": True}
        payload.update(extra_body)  # server-specific fields go into the body as they are
        return payload

    def _finish(self, response: ModelResponse, request: ModelRequest, plan: _Plan) -> ModelResponse:
        """Text-mode parsing and the final-answer tool turned into the answer text."""
        message = response.message
        names = [spec.name for spec in request.tools]
        if plan.structured == "tool":
            names.append(convert.FINAL_ANSWER_TOOL)
        parse = plan.text_tools or (self.tool_mode == "auto" and not message.tool_calls and names)
        if parse and request.tool_choice != "none":
            message = self._parse_text(message, names, strict=plan.text_tools)
        if plan.structured == "tool":
            message = convert.lift_final_answer(message, request.output_schema)
        return response if message is response.message else replace(response, message=message)

    @staticmethod
    def _parse_text(message: AssistantMessage, names: list[str], *, strict: bool) -> AssistantMessage:
        try:
            return textmode.parse_reply(message.content, names)
        except ImportError as exc:  # the parser module is part of agentkit; only a broken install lacks it
            if strict:
                raise ConfigurationError(f"text-mode tool calls need agentkit.parsing: {exc}") from exc
            return message

    # -- calls ----------------------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        plan = self._plan(request, streaming=False)
        refusals = _Refusals()
        while True:
            try:
                response = await self.retry.call(
                    functools.partial(self._complete_once, self._payload(request, plan), refusals),
                    what=f"{self.name} request",
                )
            except BadRequestError as exc:
                fallback = self._fallback(exc, plan)
                if fallback is None:
                    raise
                plan = fallback
                continue
            return self._finish(response, request, plan)

    async def _complete_once(self, payload: dict[str, Any], refusals: _Refusals) -> ModelResponse:
        import httpx2

        client = await self._client()
        try:
            # client.post (the SDK's documented route for raw requests) rather than the typed
            # chat.completions.create: the typed path deep-copies and transforms every message and
            # tool schema on each call, which dominated the client's CPU time with many runs at once.
            raw = await client.post(
                "/chat/completions", content=convert.request_body(payload), cast_to=httpx2.Response
            )
            body = raw.content
        except Exception as exc:  # noqa: BLE001 - translated into agentkit's typed errors
            self._raise(exc, refusals)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # not JSON, nested past the limit, a 5,000-digit number
            self._raise(undecodable(exc, body.decode(errors="replace")))
        if not isinstance(data, dict):
            self._raise(json.JSONDecodeError("expected a JSON object", body.decode(errors="replace"), 0))
        return convert.response_from_dict(data)

    def _raise(self, exc: BaseException, refusals: _Refusals | None = None) -> NoReturn:
        """Raise the agentkit error for ``exc`` (``exc`` itself when it is no request failure)."""
        error = translate(exc, api_key=self._api_key, model=self.model, base_url=self.base_url)
        if error is exc:
            raise exc
        if refusals is not None:
            error = refusals.check(error)
        raise error from exc

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamChunk]:
        """Text deltas as they arrive, then the assembled :class:`ModelResponse`.

        A stream that fails is retried under the same policy. Text already delivered is not repeated:
        the new attempt's text is delivered from where the old one stopped when it begins the same way
        (a deterministic server), else no further deltas come and the final response is authoritative.
        In text tool mode the deltas are held back until the reply is parsed, so no tool-call markup
        leaks into the stream.
        """
        if request.tools and not self._features.stream_with_tools:
            async for item in self._whole(request):
                yield item
            return
        plan = self._plan(request, streaming=True)
        refusals = _Refusals()
        while True:
            delivered = Delivered()
            try:
                async for item in self.retry.stream(
                    functools.partial(
                        self._stream_once,
                        self._payload(request, plan),
                        delivered,
                        plan,
                        refusals,
                    ),
                    what=f"{self.name} stream",
                ):
                    if isinstance(item, ModelResponse):
                        final = self._finish(item, request, plan)
                        if plan.text_tools and final.message.content:
                            yield TextDelta(final.message.content)
                        yield final
                    else:
                        yield item
                return
            except EmptyStreamError as exc:
                # Not transient: the server cannot stream this request (llama-cpp-python's
                # chatml-function-calling with tools). Ask once for the whole reply instead.
                logger.warning("%s; asking for the whole reply instead of a stream", exc)
                if request.tools:
                    self._features.stream_with_tools = False
                await self.aclose()  # the server dropped that connection: a pooled one would fail
                async for item in self._whole(request):
                    yield item
                return
            except BadRequestError as exc:
                if delivered.length:
                    raise
                fallback = self._fallback(exc, plan)
                if fallback is None:
                    raise
                plan = fallback

    async def _whole(self, request: ModelRequest) -> AsyncIterator[StreamChunk]:
        """A streamed call answered by one whole request: its text as one delta, then the response."""
        response = await self.complete(request)
        if response.message.content:
            yield TextDelta(response.message.content)
        yield response

    async def _stream_once(
        self, payload: dict[str, Any], delivered: Delivered, plan: _Plan, refusals: _Refusals
    ) -> AsyncIterator[StreamChunk]:
        from openai import AsyncStream

        client = await self._client()
        assembler = StreamAssembler()
        delivered.start_attempt()
        try:
            stream = await client.post(
                "/chat/completions",
                content=convert.request_body({**payload, "stream": True}),
                cast_to=object,
                stream=True,
                stream_cls=AsyncStream[object],
            )
        except Exception as exc:  # noqa: BLE001 - translated into agentkit's typed errors
            self._raise(exc, refusals)
        try:
            iterator = stream.__aiter__()
            while True:
                try:
                    chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                except (ValueError, RecursionError) as exc:  # the SDK could not decode an event's JSON
                    self._raise(undecodable(exc, getattr(exc, "doc", "")))
                except Exception as exc:  # noqa: BLE001 - translated into agentkit's typed errors
                    self._raise(exc)
                piece = assembler.add(chunk if isinstance(chunk, dict) else {})
                if not piece or plan.text_tools:
                    continue
                fresh = delivered.accept(piece)
                if fresh:
                    yield TextDelta(fresh)
        finally:
            await stream.close()  # also on cancellation: the HTTP stream must not linger
        if assembler.chunks == 0 and not delivered.length:
            raise EmptyStreamError(
                f"the stream from {self.name} at {self.base_url} ended before its first chunk"
            )
        if assembler.finish_reason is None:
            # The body ended without the last chunk: a connection closed early, not a short reply.
            raise TransientError(
                f"the stream from {self.name} at {self.base_url} ended after {assembler.chunks} chunks "
                "without a finish_reason"
            )
        if assembler.usage is None:
            # The server ignores stream_options: its token counts are unknown, and stay 0 rather than
            # a guess that would pass for the server's own (the context manager calibrates on them).
            logger.debug(
                "%s sent no usage in its stream; token counts for this request are unknown", self.name
            )
        yield assembler.response()


async def _close_at_loop_shutdown(client: openai.AsyncOpenAI) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.close()


class _Refusals:
    """Refused connections during one model call: a port nobody listens on is retried only a little
    (a server may be starting), then reported as :class:`ServerUnreachableError`."""

    limit = 3

    def __init__(self) -> None:
        self.count = 0

    def check(self, error: BaseException) -> BaseException:
        if not isinstance(error, RefusedConnection):
            return error
        self.count += 1
        if self.count < self.limit:
            return error
        return ServerUnreachableError(f"{error} (refused {self.count} times)")


def _check_base_url(base_url: str) -> None:
    """A base URL must be http(s) and carry no credentials: they would be sent as a second
    Authorization beside the key, and shown in every error and log line that names the URL."""
    if not base_url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"base URL {_masked(base_url)!r} must start with http:// or https:// "
            "(e.g. http://127.0.0.1:8080/v1)"
        )
    try:
        parts = urllib.parse.urlsplit(base_url)
        has_credentials = parts.username is not None or parts.password is not None
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ConfigurationError(f"base URL {_masked(base_url)!r} is not a valid URL: {exc}") from None
    if has_credentials:
        raise ConfigurationError(
            f"base URL {_masked(base_url)!r} carries credentials, which agentkit does not take from a URL: "
            "pass the key with api_key= or OPENAI_API_KEY (or an Authorization header with "
            "default_headers=) and remove them from the URL"
        )


def _masked(base_url: str) -> str:
    """``base_url`` with anything before an ``@`` in its authority replaced by ``***``."""
    scheme, sep, rest = base_url.partition("://")
    if not sep:
        return base_url.split("@")[-1]
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}://{authority}{slash}{path}"

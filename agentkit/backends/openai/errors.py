"""Typed errors of the OpenAI-compatible backend, and the translation of SDK failures into them.

Every failure of a request ends as exactly one of:

- :class:`~agentkit.errors.TransientError` (408, 409, 429, 5xx, connection errors, timeouts, an error
  event inside a stream): retried by the one :class:`~agentkit.retry.RetryPolicy`; a refused connection
  (:class:`RefusedConnection`) only a little, then :class:`ServerUnreachableError`;
- a :class:`~agentkit.errors.RemoteBackendError` subclass (400, 401, 403, 404, 422, other 4xx, a body
  that is not JSON, and a reply of any status that rejects a feature of the request by name, as
  llama-cpp-python's HTTP 500 for ``response_format``): raised at once, with a message that says what
  to fix (the backend first falls back to doing without the feature where it can).

The shared classes live in :mod:`agentkit.errors` (any remote backend can raise them); this module
adds this backend's specifics as their subclasses, and translates the SDK's failures into them.

Messages quote what the server said (trimmed) and never contain the API key: it is scrubbed from
every message, in case a server echoes it back.
"""

from __future__ import annotations

import json
from typing import Any

from agentkit.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    ModelNotFoundError,
    PermissionDeniedError,
    RemoteBackendError,
    TransientError,
    UnprocessableRequestError,
)
from agentkit.retry import parse_retry_after

RETRYABLE_STATUS = frozenset({408, 409, 429})


OpenAIBackendError = RemoteBackendError
"""The name this package used before the classes moved to :mod:`agentkit.errors`."""


class FeatureRejectedError(BadRequestError):
    """A reply with a status other than 400 (llama-cpp-python answers 500) whose message rejects a
    parameter of the request by name: not transient, so it is not retried, and the backend falls back
    to doing without that feature where it can."""


class ServerUnreachableError(RemoteBackendError):
    """Nothing accepted a connection at the base URL, on every attempt allowed for that (the server is
    not running, or the URL names the wrong host or port)."""


class RefusedConnection(TransientError):
    """A refused connection: worth a retry or two (a server may be starting), not the whole policy."""


class EmptyStreamError(InvalidResponseError):
    """A streamed request came back without a single chunk. Not transient (llama-cpp-python's
    ``chatml-function-calling`` cannot stream with tools): the backend asks for the whole reply."""


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (and its long prefixes, which servers echo in
    "Incorrect API key provided: sk-abc...") replaced by ``***``."""
    if not secret:
        return text
    text = text.replace(secret, "***")
    if len(secret) >= 12:
        # A server may echo a truncated key; scrub any run of 8+ leading characters of it.
        for length in range(len(secret) - 1, 7, -1):
            prefix = secret[:length]
            if prefix in text:
                text = text.replace(prefix, "***")
    return text


def _server_message(body: object, fallback: str) -> str:
    if isinstance(body, dict):
        error: Any = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
        return json.dumps(body)[:500]
    if isinstance(body, str):
        return body[:500]
    return fallback


_HINTS: dict[int, tuple[type[OpenAIBackendError], str]] = {
    400: (
        BadRequestError,
        "check the model's support for the parameters used (tools, tool_choice, response_format, "
        "stream_options) and that the conversation fits the context window",
    ),
    401: (
        AuthenticationError,
        "set a valid key with OpenAIBackend(api_key=...) or the OPENAI_API_KEY environment variable",
    ),
    403: (
        PermissionDeniedError,
        "the key is not allowed to use this model or endpoint; check the project/organization "
        "permissions or use another model",
    ),
    404: (
        ModelNotFoundError,
        "check the model name and that the base URL (OPENAI_BASE_URL or 'openai:MODEL@BASE_URL') "
        "points at the /v1 API of an OpenAI-compatible server",
    ),
    422: (
        UnprocessableRequestError,
        "the server refused the request's content; check the messages and parameters it names",
    ),
}


def _transport_cause(exc: BaseException) -> BaseException | None:
    """The innermost transport failure under ``exc`` that is not a timeout: an OSError (a refused or
    reset connection, a failed name lookup) or an aiohttp connection error (a server that closed the
    connection). Transports wrap these differently (the SDK's aiohttp adapter reports both as a
    connect *timeout*), and an exception being handled when the request started hangs below them as
    ``__context__`` (``Agent.run``'s probe for a running loop): so the chain is searched, not followed
    to its end."""
    found: BaseException | None = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names = {cls.__name__ for cls in type(current).__mro__}
        timeout = isinstance(current, TimeoutError) or names & {"ServerTimeoutError", "SocketTimeoutError"}
        if not timeout and (isinstance(current, OSError) or "ClientConnectionError" in names):
            found = current
        current = current.__cause__ or current.__context__
    return found


def translate(exc: BaseException, *, api_key: str | None, model: str, base_url: str) -> BaseException:
    """The agentkit error for an SDK (or transport) failure: transient, typed permanent, or ``exc``
    itself when it is not a request failure at all (a bug to surface, not to hide)."""
    import openai

    where = f"model {model!r} at {base_url}"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        server = scrub(_server_message(exc.body, exc.message), api_key)
        said = server.lower()
        if status != 400 and rejects(said, REQUEST_PARAMETERS) and not context_overflow(said):
            return FeatureRejectedError(
                f"HTTP {status} from {where}: {server[:500]}. To fix: the server does not support a "
                "parameter it names; use a mode without it (tool_mode=, structured_output=)",
                status=status,
                server_message=server,
            )
        if status in RETRYABLE_STATUS or status >= 500:
            retry_after = parse_retry_after(dict(exc.response.headers))
            return TransientError(
                f"HTTP {status} from {where}: {server}", status=status, retry_after=retry_after
            )
        cls, hint = _HINTS.get(
            status,
            (OpenAIBackendError, "the server refused the request; see its message"),
        )
        return cls(
            f"HTTP {status} from {where}: {server}. To fix: {hint}.", status=status, server_message=server
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = _transport_cause(exc)
        if isinstance(cause, ConnectionRefusedError):
            return RefusedConnection(
                f"connection to {where} was refused: nothing is listening there. To fix: start the "
                "server, or check the host and port of the base URL"
            )
        if isinstance(exc, openai.APITimeoutError) and cause is None:
            return TransientError(f"request to {where} timed out")
        detail = f" ({type(cause).__name__}: {scrub(str(cause), api_key)})" if cause is not None else ""
        return TransientError(f"connection to {where} failed{detail}")
    if isinstance(exc, openai.APIResponseValidationError):
        return InvalidResponseError(
            f"{where} sent a response that is not a chat completion: {scrub(str(exc.body), api_key)[:300]}. "
            "To fix: check that the base URL points at an OpenAI-compatible /v1 API.",
            status=exc.status_code,
        )
    if isinstance(exc, openai.APIError):
        # An error event inside a stream, without an HTTP status: the server failed mid-reply.
        return TransientError(f"{where} reported an error mid-stream: {scrub(exc.message, api_key)}")
    if isinstance(exc, json.JSONDecodeError):
        return InvalidResponseError(
            f"{where} sent a body that is not JSON ({exc.msg}): {scrub(exc.doc, api_key)[:200]!r}. "
            "To fix: check that the base URL points at an OpenAI-compatible /v1 API (it usually ends in /v1)."
        )
    return exc


def undecodable(exc: BaseException, doc: str) -> json.JSONDecodeError:
    """``exc`` from decoding a reply as a ``JSONDecodeError``, so :func:`translate` reports it as a body
    that is not JSON (``InvalidResponseError``) whatever the decoder raised."""
    if isinstance(exc, json.JSONDecodeError):
        return exc
    return json.JSONDecodeError(f"{type(exc).__name__}: {str(exc)[:100]}", doc, 0)


REQUEST_PARAMETERS = (
    "response_format",
    "json_schema",
    "tool_choice",
    "tools",
    "stream_options",
    "parallel_tool_calls",
)
"""Parameters the backend may send that some servers lack: a reply of any status that rejects one by
name is a refusal of the feature, not a transient failure."""

_REJECTION_WORDS = (
    "not support",
    "validation error",
    "input should be",
    "unsupported",
    "not available",
    "not allowed",
    "not permitted",
    "unrecognized",
    "unknown",
    "unexpected",
    "extra inputs",
    "invalid",
    "requires",
    "enable-auto-tool-choice",
)


def rejects(said: str, features: tuple[str, ...]) -> bool:
    """Whether an error message (lower-cased) says the server rejects one of ``features`` (as a
    parameter): it names one and says it is unsupported, unknown, invalid or fails validation."""
    return any(f in said for f in features) and any(w in said for w in _REJECTION_WORDS)


def context_overflow(said: str) -> bool:
    return "context length" in said or "context window" in said or "too many tokens" in said

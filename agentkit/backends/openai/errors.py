"""Typed errors of the OpenAI-compatible backend, and the translation of SDK failures into them.

Every failure of a request ends as exactly one of:

- :class:`~agentkit.errors.TransientError` (408, 409, 429, 5xx, connection errors, timeouts, an error
  event inside a stream): retried by the one :class:`~agentkit.retry.RetryPolicy`;
- a :class:`~agentkit.errors.RemoteBackendError` subclass (400, 401, 403, 404, 422, other 4xx, a body
  that is not JSON): raised at once, with a message that says what to fix.

The classes live in :mod:`agentkit.errors` (any remote backend can raise them); this module translates
the SDK's failures into them.

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


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost cause: the SDK's aiohttp adapter reports a refused connection as a connect
    timeout, which only the original OSError at the bottom of the chain tells apart."""
    seen = {id(exc)}
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def translate(exc: BaseException, *, api_key: str | None, model: str, base_url: str) -> BaseException:
    """The agentkit error for an SDK (or transport) failure: transient, typed permanent, or ``exc``
    itself when it is not a request failure at all (a bug to surface, not to hide)."""
    import openai

    where = f"model {model!r} at {base_url}"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        server = scrub(_server_message(exc.body, exc.message), api_key)
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
        root = _root_cause(exc)
        refused = isinstance(root, OSError) and not isinstance(root, TimeoutError)
        if isinstance(exc, openai.APITimeoutError) and not refused:
            return TransientError(f"request to {where} timed out")
        detail = f" ({type(root).__name__}: {scrub(str(root), api_key)})" if root is not exc else ""
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


_REJECTION_WORDS = (
    "not support",
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
    """Whether a 400's message says the server rejects one of ``features`` (as a parameter)."""
    return any(f in said for f in features) and any(w in said for w in _REJECTION_WORDS)


def context_overflow(said: str) -> bool:
    return "context length" in said or "context window" in said or "too many tokens" in said

"""The OpenAI-compatible backend: ``openai:MODEL`` and ``openai:MODEL@BASE_URL``.

Importing this package does not import the ``openai`` SDK; the first request does.
"""

from __future__ import annotations

from agentkit.backends.openai.backend import OpenAIBackend, StructuredMode, ToolMode
from agentkit.backends.openai.convert import from_openai, to_openai
from agentkit.backends.openai.counting import OpenAICounter, openai_counter
from agentkit.backends.openai.errors import (
    EmptyStreamError,
    FeatureRejectedError,
    OpenAIBackendError,
    ServerUnreachableError,
)
from agentkit.backends.openai.features import forget_server_features
from agentkit.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidResponseError,
    ModelNotFoundError,
    PermissionDeniedError,
    UnprocessableRequestError,
)


def split_model_string(rest: str) -> tuple[str, str | None]:
    """``MODEL`` or ``MODEL@BASE_URL`` -> ``(model, base_url)``. The base URL is what follows the
    last ``@`` that starts an ``http://`` or ``https://`` URL, so model names may contain ``@``."""
    for marker in ("@http://", "@https://"):
        at = rest.rfind(marker)
        if at >= 0:
            return rest[:at], rest[at + 1 :]
    return rest, None


def from_model_string(rest: str) -> OpenAIBackend:
    """The factory behind ``openai:...`` model strings (cheap: no SDK import, no network)."""
    model, base_url = split_model_string(rest)
    if not model:
        raise ConfigurationError(
            f"'openai:{rest}' names no model; write 'openai:MODEL' or 'openai:MODEL@http://HOST:PORT/v1'"
        )
    return OpenAIBackend(model, base_url=base_url)


__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "EmptyStreamError",
    "FeatureRejectedError",
    "InvalidResponseError",
    "ModelNotFoundError",
    "OpenAIBackend",
    "OpenAIBackendError",
    "OpenAICounter",
    "PermissionDeniedError",
    "ServerUnreachableError",
    "StructuredMode",
    "ToolMode",
    "UnprocessableRequestError",
    "forget_server_features",
    "from_model_string",
    "from_openai",
    "openai_counter",
    "split_model_string",
    "to_openai",
]

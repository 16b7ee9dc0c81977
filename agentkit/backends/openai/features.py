"""What each server turned out to lack, remembered per base URL for the life of the process.

A server that rejects a feature once (native tools, ``response_format``, ``stream_options``, a
streamed reply while tools are offered) is not asked for it again by any backend at that base URL:
the first request pays for the probe; later steps, later runs and later ``OpenAIBackend`` objects
(the CLI and ``Agent("openai:...")`` make a new one each time) do not.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class ServerFeatures:
    """What one server supports, as learned by use (``None``: not known yet)."""

    native_tools: bool | None = None
    json_schema: bool | None = None
    stream_usage: bool = True
    stream_with_tools: bool = True
    """False once a streamed request with tools came back empty (llama-cpp-python with
    ``--chat_format chatml-function-calling``): such requests are then made whole."""


_KNOWN: dict[str, ServerFeatures] = {}
_LOCK = threading.Lock()


def server_features(base_url: str) -> ServerFeatures:
    """The features learned about the server at ``base_url`` (shared by every backend using it)."""
    with _LOCK:
        found = _KNOWN.get(base_url)
        if found is None:
            found = _KNOWN[base_url] = ServerFeatures()
        return found


def forget_server_features(base_url: str | None = None) -> None:
    """Forget what was learned about one server (or all of them), e.g. after it was upgraded."""
    with _LOCK:
        if base_url is None:
            _KNOWN.clear()
        else:
            _KNOWN.pop(base_url.rstrip("/"), None)

"""``tools/list`` answers checked one tool at a time.

The SDK validates a ``tools/list`` result as a whole, so a single tool whose ``inputSchema`` is ``{}``,
missing or of type ``array`` (the spec requires an object schema) fails the listing and with it the whole
server. :class:`LenientDispatcher` sits where the SDK hands raw results to the session: it takes such
tools out of the raw result, keeping the reason, before the SDK sees them. Everything else about the
result (its cursor, the other tools) is left for the SDK to check as usual, and the SDK's own state
(output schemas for validating results) then describes exactly the tools agentkit offers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mcp.types as types
from mcp.shared.dispatcher import CallOptions
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp_types.methods import validate_server_result
from pydantic import ValidationError

_FALLBACK_VERSION = "2025-11-25"  # what the SDK assumes before the handshake settles a version


def _tool_errors(exc: ValidationError, first: tuple[Any, ...]) -> list[str]:
    """The errors that concern the one tool (at ``first`` in the checked data), as ``field: message``."""
    found = []
    for error in exc.errors():
        location = tuple(error["loc"])
        if location[: len(first)] == first:
            field = ".".join(str(part) for part in location[len(first) :]) or "tool"
            found.append(f"{field}: {error['msg']}")
    return found


def tool_problem(tool: object, result: Mapping[str, Any], version: str | None) -> str | None:
    """Why the SDK would refuse ``tool`` in a listing like ``result``, or None if it would take it."""
    if not isinstance(tool, dict):
        return f"the listing holds a {type(tool).__name__}, not a tool object"
    problems: list[str] = []
    try:
        validate_server_result("tools/list", version or _FALLBACK_VERSION, {**result, "tools": [tool]})
    except ValidationError as exc:
        problems += _tool_errors(exc, ("tools", 0))
    except (KeyError, ValueError):  # a protocol version this SDK has no surface for: the model check only
        pass
    try:
        types.Tool.model_validate(tool, by_name=False)
    except ValidationError as exc:
        problems += [p for p in _tool_errors(exc, ()) if p not in problems]
    return "invalid tool definition: " + "; ".join(problems) if problems else None


def tool_label(tool: object, index: int) -> str:
    name = tool.get("name") if isinstance(tool, dict) else None
    return name if isinstance(name, str) and name else f"(tool #{index + 1} of the listing, without a name)"


class LenientDispatcher(JSONRPCDispatcher[Any]):
    """The SDK's JSON-RPC dispatcher, except that invalid tools are dropped from ``tools/list`` results
    and recorded in :attr:`rejected` (server name, or a placeholder, to the reason)."""

    def __init__(self, *args: Any, protocol_version: Callable[[], str | None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._protocol_version = protocol_version
        self.rejected: dict[str, str] = {}

    async def send_raw_request(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        opts: CallOptions | None = None,
        *,
        _related_request_id: Any = None,
    ) -> dict[str, Any]:
        raw = await super().send_raw_request(method, params, opts, _related_request_id=_related_request_id)
        if method == "tools/list" and isinstance(raw.get("tools"), list):
            raw = self._keep_valid(raw)
        return raw

    def _keep_valid(self, raw: dict[str, Any]) -> dict[str, Any]:
        rest = {key: value for key, value in raw.items() if key != "tools"}
        version = self._protocol_version()
        kept = []
        for index, tool in enumerate(raw["tools"]):
            problem = tool_problem(tool, rest, version)
            if problem is None:
                kept.append(tool)
            else:
                self.rejected[tool_label(tool, index)] = problem
        return {**rest, "tools": kept}

"""Turn an MCP ``CallToolResult`` into what agentkit's registry expects from a tool: a value on
success, :class:`ToolExecutionError` (sent to the model as an error tool result) when the server set
``isError``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import mcp.types as types

from agentkit.errors import ToolExecutionError


def _size(data: str) -> str:
    try:
        return f"{len(base64.b64decode(data, validate=False))} bytes"
    except (binascii.Error, ValueError):
        return f"{len(data)} base64 characters"


def block_text(block: Any) -> str:
    """A content block as text a model can read; binary data is described, not pasted."""
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        return f"[{block.type}: {block.mime_type}, {_size(block.data)}; not shown]"
    if isinstance(block, types.ResourceLink):
        label = f" ({block.name})" if block.name and block.name != str(block.uri) else ""
        return f"[resource link: {block.uri}{label}]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return resource.text
        return (
            f"[resource {resource.uri}: {resource.mime_type or 'binary'}, {_size(resource.blob)}; not shown]"
        )
    return f"[{getattr(block, 'type', type(block).__name__)} content; not shown]"


def content_text(content: Sequence[Any]) -> str:
    return "\n".join(block_text(block) for block in content)


def convert_result(result: types.CallToolResult, *, tool_name: str, prefer_structured: bool) -> Any:
    """The value of a successful call, or :class:`ToolExecutionError` for an ``isError`` result.

    The model reads the text content when there is any: the MCP spec asks servers that return
    structured content to put its JSON in a text block too, so nothing is lost. Structured content
    is the value when the server sent no text, or when ``prefer_structured`` is set.
    """
    text = content_text(result.content)
    if result.is_error:
        raise ToolExecutionError(
            f"Tool '{tool_name}' reported an error: {text.strip() or '(the server gave no message)'}",
            tool_name=tool_name,
        )
    if result.structured_content is not None and (prefer_structured or not result.content):
        return result.structured_content
    return text

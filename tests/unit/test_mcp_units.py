"""agentkit.mcp pieces that need no server: names, result conversion, specs, import lightness."""

from __future__ import annotations

import base64
import subprocess
import sys

import mcp.types as types
import pytest

from agentkit.errors import ConfigurationError, ToolExecutionError
from agentkit.mcp import MCPToolset
from agentkit.mcp.names import local_names, sanitize_name
from agentkit.mcp.results import convert_result
from agentkit.tool import TOOL_NAME_PATTERN


def test_names_are_sanitised_prefixed_and_kept_distinct() -> None:
    assert sanitize_name("weather.today") == "weather_today"
    assert sanitize_name("files/read file", prefix="fs") == "fs_files_read_file"
    assert sanitize_name("...") == "tool"
    long = "x" * 100
    mapping = local_names(["a.b", "a_b", "a-b", long, long + "y"], prefix="p")
    assert mapping["a.b"] == "p_a_b" and mapping["a_b"] == "p_a_b_2" and mapping["a-b"] == "p_a-b"
    assert len(set(mapping.values())) == 5
    assert all(TOOL_NAME_PATTERN.match(name) for name in mapping.values())
    assert mapping[long + "y"].endswith("_2") and len(mapping[long + "y"]) == 64


def result(*content: object, structured: object = None, is_error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=list(content), structured_content=structured, is_error=is_error)  # type: ignore[arg-type]


def test_text_wins_unless_structured_is_preferred_or_alone() -> None:
    both = result(types.TextContent(text='{"a": 1}'), structured={"a": 1})
    assert convert_result(both, tool_name="t", prefer_structured=False) == '{"a": 1}'
    assert convert_result(both, tool_name="t", prefer_structured=True) == {"a": 1}
    assert convert_result(result(structured={"a": 2}), tool_name="t", prefer_structured=False) == {"a": 2}
    two = result(types.TextContent(text="one"), types.TextContent(text="two"))
    assert convert_result(two, tool_name="t", prefer_structured=False) == "one\ntwo"


def test_binary_and_resource_blocks_are_described_not_pasted() -> None:
    png = base64.b64encode(b"\x89PNG" + bytes(96)).decode()
    blocks = result(
        types.ImageContent(data=png, mime_type="image/png"),
        types.ResourceLink(uri="file:///tmp/report.txt", name="report"),
        types.EmbeddedResource(resource=types.TextResourceContents(uri="file:///a.txt", text="inline text")),
        types.EmbeddedResource(
            resource=types.BlobResourceContents(uri="file:///b.bin", blob=png, mime_type="application/zip")
        ),
    )
    text = convert_result(blocks, tool_name="t", prefer_structured=False)
    assert text.splitlines() == [
        "[image: image/png, 100 bytes; not shown]",
        "[resource link: file:///tmp/report.txt (report)]",
        "inline text",
        "[resource file:///b.bin: application/zip, 100 bytes; not shown]",
    ]


def test_is_error_raises_a_model_fixable_error_with_the_server_text() -> None:
    with pytest.raises(ToolExecutionError, match="Tool 'srv_x' reported an error: disk full") as info:
        convert_result(
            result(types.TextContent(text="disk full"), is_error=True),
            tool_name="srv_x",
            prefer_structured=False,
        )
    assert info.value.tool_name == "srv_x"
    with pytest.raises(ToolExecutionError, match="the server gave no message"):
        convert_result(result(is_error=True), tool_name="t", prefer_structured=False)


def test_specs_and_options_are_checked() -> None:
    assert MCPToolset.from_spec("  http://127.0.0.1:9/mcp ").label == "http://127.0.0.1:9/mcp"
    assert MCPToolset.from_spec("python -m srv --name 'a b'").label == "python -m srv --name 'a b'"
    with pytest.raises(ConfigurationError, match="empty"):
        MCPToolset.from_spec("   ")
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        MCPToolset.http("ftp://example.com/mcp")
    with pytest.raises(ConfigurationError, match="positive"):
        MCPToolset.stdio("srv", timeout=0)
    with pytest.raises(ConfigurationError, match="is not open"):
        _ = MCPToolset.stdio("srv").tools


def test_import_agentkit_does_not_load_the_mcp_sdk() -> None:
    code = "import sys, agentkit; print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

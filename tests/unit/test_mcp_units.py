"""agentkit.mcp pieces that need no server: names, result conversion, specs, import lightness."""

from __future__ import annotations

import base64
import random
import subprocess
import sys

import mcp.types as types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.errors import ConfigurationError, ToolExecutionError
from agentkit.mcp import HttpServer, MCPToolset
from agentkit.mcp.listing import tool_problem
from agentkit.mcp.names import local_names
from agentkit.mcp.results import convert_result
from agentkit.tool import TOOL_NAME_PATTERN


def test_valid_names_are_kept_and_the_others_made_valid_and_distinct() -> None:
    mapping = local_names(["weather.today", "weather_today", "files/read file", "...", "café"])
    assert mapping["weather_today"] == "weather_today"  # the server's own valid name is untouched
    assert (
        mapping["weather.today"].startswith("weather_today_") and mapping["weather.today"] != "weather_today"
    )
    assert mapping["files/read file"] == "files_read_file"
    assert mapping["café"] == "cafe"
    assert mapping["..."].startswith("tool_")
    prefixed = local_names(["a.b", "a_b", "a-b"], prefix="p")
    assert prefixed["a_b"] == "p_a_b" and prefixed["a-b"] == "p_a-b"
    assert prefixed["a.b"].startswith("p_a_b_")


def test_names_without_ascii_letters_get_distinct_stable_hashes_not_tool_tool_2() -> None:
    first = local_names(["天気", "天候", "погода"])
    again = local_names(["погода", "天候", "天気"])  # another order: the same names
    assert first == again
    assert len(set(first.values())) == 3
    assert all(name.startswith("tool_") and name not in ("tool", "tool_2") for name in first.values())
    assert local_names(["Größe.x"]) == {"Größe.x": "Groe_x"}


def test_names_are_the_same_in_another_process() -> None:
    names = ["天気", "weather.today", "weather_today", "x" * 100, "x" * 100 + "y"]
    code = f"from agentkit.mcp.names import local_names; print(sorted(local_names({names!r}).items()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(sorted(local_names(names).items()))


remote_names = st.lists(
    st.one_of(
        st.from_regex(r"[a-zA-Z0-9_-]{1,70}", fullmatch=True),
        st.text(min_size=0, max_size=140),
        st.sampled_from(["a.b", "a_b", "a b", "tool", "tool_1", "天気", "x" * 64, "x" * 65, "_", "-"]),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    names=remote_names, prefix=st.one_of(st.none(), st.sampled_from(["p", "srv.x", "天"])), seed=st.randoms()
)
def test_local_names_property(names: list[str], prefix: str | None, seed: random.Random) -> None:
    mapping = local_names(names, prefix)
    assert set(mapping) == set(names)
    assert all(TOOL_NAME_PATTERN.match(local) for local in mapping.values())
    assert len(set(mapping.values())) == len(mapping)  # distinct
    for name in names:  # a name that is valid as it stands is kept exactly
        full = f"{prefix}_{name}" if prefix else name
        if TOOL_NAME_PATTERN.match(full):
            assert mapping[name] == full
    shuffled = list(names)
    seed.shuffle(shuffled)
    assert local_names(shuffled, prefix) == mapping  # stable: a function of the names only


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
    with pytest.raises(ConfigurationError, match="positive"):
        MCPToolset.stdio("srv", probe_timeout=0)


def test_http_transport_follows_the_url_unless_named() -> None:
    def kind(toolset: MCPToolset) -> str:
        assert isinstance(toolset.server, HttpServer)
        return toolset.server.kind

    assert kind(MCPToolset.from_spec("http://127.0.0.1:3001/sse")) == "sse"
    assert kind(MCPToolset.from_spec("https://example.com/v1/sse/?key=1")) == "sse"
    assert kind(MCPToolset.from_spec("http://127.0.0.1:8000/mcp")) == "streamable-http"
    assert kind(MCPToolset.sse("http://127.0.0.1:3001/events")) == "sse"
    assert kind(MCPToolset.http("http://127.0.0.1/sse", transport="streamable-http")) == "streamable-http"
    with pytest.raises(ConfigurationError, match="unknown MCP HTTP transport"):
        MCPToolset.http("http://127.0.0.1/mcp", transport="websocket")  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25", "2026-07-28"])
def test_the_listing_check_blames_only_the_tool(version: str) -> None:
    good = {"name": "ok", "inputSchema": {"type": "object", "properties": {}}}
    assert tool_problem(good, {}, version) is None  # fields the result lacks are not the tool's fault
    for bad, expected in [
        ({"name": "x", "inputSchema": {}}, "inputSchema"),
        ({"name": "x"}, "inputSchema"),
        ({"name": "x", "inputSchema": {"type": "array"}}, "inputSchema"),
        ({"inputSchema": {"type": "object"}}, "name"),
        ("not a tool", "not a tool object"),
    ]:
        problem = tool_problem(bad, {}, version)
        assert problem is not None and expected in problem


def test_import_agentkit_does_not_load_the_mcp_sdk() -> None:
    code = "import sys, agentkit; print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

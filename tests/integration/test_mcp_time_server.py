"""MCPToolset against a published MCP server from PyPI: ``mcp-server-time`` (no network needed),
started as ``python -m mcp_server_time --local-timezone UTC``."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import pytest

from agentkit import Agent, ToolMessage, ToolRegistry
from agentkit.backends.base import ModelRequest
from agentkit.mcp import MCPConnectionError, MCPToolset
from agentkit.testing import ScriptedBackend, call

TIME_SERVER = [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]


async def test_time_server_tools_and_an_agent_run_that_uses_them() -> None:
    def script(request: ModelRequest) -> object:
        if len(request.messages) == 2:
            return call(
                "time_convert_time", source_timezone="UTC", time="12:00", target_timezone="Asia/Tokyo"
            )
        reply = request.messages[-1]
        assert isinstance(reply, ToolMessage) and not reply.is_error
        converted = json.loads(reply.content)
        return f"Noon UTC is {converted['target']['datetime'][11:16]} in Tokyo."

    backend = ScriptedBackend(script)
    async with MCPToolset.stdio(TIME_SERVER, prefix="time") as toolset:
        names = sorted(t.name for t in toolset.tools)
        params = {t.name: t.parameters for t in toolset.tools}
        result = await Agent(model=backend, tools=toolset.tools).arun("What is noon UTC in Tokyo?")
        registry = ToolRegistry(toolset.tools)
        now = await registry.execute(call("time_get_current_time", timezone="Europe/Oslo"))
        bad_zone = await registry.execute(call("time_get_current_time", timezone="Mars/Base"))

    assert names == ["time_convert_time", "time_get_current_time"]
    assert params["time_convert_time"]["required"] == ["source_timezone", "time", "target_timezone"]
    timezone = params["time_get_current_time"]["properties"]["timezone"]
    assert "'UTC' as local timezone" in timezone["description"]
    assert result.output == "Noon UTC is 21:00 in Tokyo."

    current = json.loads(now.content)
    assert current["timezone"] == "Europe/Oslo"
    skew = datetime.fromisoformat(current["datetime"]) - datetime.now().astimezone()
    assert abs(skew.total_seconds()) < 300

    assert bad_zone.is_error
    assert "Tool 'time_get_current_time' reported an error" in bad_zone.content
    assert "Mars/Base" in bad_zone.content


async def test_time_server_with_a_bad_option_reports_its_own_message() -> None:
    with pytest.raises(MCPConnectionError, match="invalid --local-timezone 'Nowhere/Land'"):
        bad_option = [*TIME_SERVER[:3], "--local-timezone", "Nowhere/Land"]
        async with MCPToolset.stdio(bad_option, connect_timeout=20):
            pass

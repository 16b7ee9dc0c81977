"""An agentkit ToolRegistry that the tests serve over MCP (``python -m agentkit.mcp serve``)."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel

from agentkit import ModelRetry, ToolRegistry, tool


class Forecast(BaseModel):
    city: str
    temperature_c: float
    sky: Literal["clear", "cloudy", "rain"]


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


@tool
def forecast(city: str, unit: Literal["c", "f"] = "c") -> Forecast:
    """Tomorrow's weather for a city.

    Args:
        city: City name.
        unit: Temperature unit.
    """
    return Forecast(city=city, temperature_c=21.5, sky="clear")


@tool
def divide(a: float, b: float) -> float:
    """Divide a by b."""
    if b == 0:
        raise ModelRetry("b must not be zero; pick another divisor")
    return a / b


@tool(timeout=0.5)
async def slow() -> str:
    """Takes far longer than its timeout."""
    await asyncio.sleep(30)
    return "late"


registry = ToolRegistry([add, forecast, divide, slow])
tool_list = [add, divide]


def make_registry() -> ToolRegistry:
    return ToolRegistry([forecast])

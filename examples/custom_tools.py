"""Typed tools: pydantic arguments, a docstring the model reads, and an async tool.

python examples/custom_tools.py            # on the embedded local model
AGENTKIT_MODEL=openai:gpt-4o-mini python examples/custom_tools.py
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from agentkit import Agent, Backend, RunResult, tool


class Booking(BaseModel):
    """A table reservation."""

    name: str = Field(description="who the table is for")
    guests: Annotated[int, Field(ge=1, le=12, description="number of people, 1 to 12")]
    day: date = Field(description="the date, YYYY-MM-DD")
    seating: Literal["inside", "terrace"] = "inside"


BOOKINGS: list[Booking] = []


@tool
def book_table(booking: Booking) -> str:
    """Reserve a table at the restaurant.

    Args:
        booking: the reservation to make
    """
    BOOKINGS.append(booking)
    return f"Booked {booking.seating} for {booking.guests} ({booking.name}) on {booking.day.isoformat()}."


@tool(timeout=5)
async def weather(city: str, day: date) -> str:
    """The weather forecast for a city on a day.

    Args:
        city: the city name, e.g. "Lyon"
        day: the date, YYYY-MM-DD
    """
    await asyncio.sleep(0.01)  # stands in for an HTTP call to a weather service
    return "sunny, 24°C" if day.day % 2 == 0 else "rain, 15°C"


def main(model: Backend | str | None = None) -> RunResult[str]:
    agent = Agent(
        model or os.environ.get("AGENTKIT_MODEL", "local"),
        tools=[weather, book_table],
        system_prompt="You book tables. Check the weather first: book the terrace only when it is sunny.",
    )
    return agent.run("Book a table for 4 people under the name Ada in Lyon on 2026-06-12.")


if __name__ == "__main__":
    result = main()
    print(result.output)
    print(f"({result.steps} steps, {result.usage.total_tokens} tokens)")

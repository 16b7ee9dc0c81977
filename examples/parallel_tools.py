"""Parallel tool calls: independent calls of one step run at the same time.

The model asks for three prices at once; the three (slow) lookups overlap instead of queueing, and
their results go back in the order the model asked for them.

    python examples/parallel_tools.py
"""

from __future__ import annotations

import asyncio
import os
import time

from agentkit import Agent, Backend, RunResult, tool

PRICES = {"AAPL": 231.5, "MSFT": 415.2, "NVDA": 121.9}


class Concurrency:
    """Counts lookups in flight, to show that they overlap."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0


in_flight = Concurrency()


@tool
async def stock_price(symbol: str) -> float:
    """The latest price of a stock.

    Args:
        symbol: the ticker, e.g. "AAPL"
    """
    in_flight.now += 1
    in_flight.peak = max(in_flight.peak, in_flight.now)
    try:
        await asyncio.sleep(0.3)  # a slow quote service
        if symbol.upper() not in PRICES:
            raise ValueError(f"unknown symbol {symbol!r}; known: {', '.join(PRICES)}")
        return PRICES[symbol.upper()]
    finally:
        in_flight.now -= 1


def main(model: Backend | str | None = None) -> RunResult[str]:
    agent = Agent(
        model or os.environ.get("AGENTKIT_MODEL", "local"),
        tools=[stock_price],
        max_parallel_tools=8,
        system_prompt="Look up every price you need in one step, with parallel tool calls.",
    )
    return agent.run("What are the prices of AAPL, MSFT and NVDA?")


if __name__ == "__main__":
    started = time.perf_counter()
    result = main()
    print(result.output)
    print(f"{in_flight.peak} lookups ran at once; {time.perf_counter() - started:.2f}s in all")

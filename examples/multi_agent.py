"""A help desk of three agents: a triage agent hands the customer to a billing specialist, who asks a
researcher agent (used as a tool) to look the order up.

    python examples/multi_agent.py "Why was order A-1002 charged twice?"
    AGENTKIT_MODEL=openai:gpt-4o-mini python examples/multi_agent.py

Every step of every agent is printed with its path in the run's tree (``triage``, ``billing``,
``billing/researcher``); at the end, the agent that answered and each agent's share of the tokens.
One model serves all three here; each agent could have its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pydantic import BaseModel

from agentkit import (
    Agent,
    Backend,
    FinalOutput,
    HandedOff,
    RunResult,
    ToolCallFinished,
    ToolCallStarted,
    tool,
)
from agentkit.events import is_own
from agentkit.multiagent import Handoff, without_tool_calls

ORDERS = {
    "A-1001": "order A-1001: 2 x coffee beans, 24.00 EUR, paid once, shipped 2026-11-20",
    "A-1002": "order A-1002: 1 x grinder, 89.00 EUR, charged twice on 2026-11-28 (duplicate, refundable)",
}


@tool
def lookup_order(order_id: str) -> str:
    """Find an order by its id.

    Args:
        order_id: The order's id, like A-1001.
    """
    return ORDERS.get(order_id.strip().upper(), f"no order {order_id!r}; ids look like A-1001")


class OrderQuestion(BaseModel):
    """What billing asks the researcher: the order, and what to find out about it."""

    order_id: str
    question: str


def build(model: Backend | str | Mapping[str, Backend | str]) -> Agent[str, None]:
    """The three agents; ``model`` is one model for all, or one per agent name."""

    def model_for(name: str) -> Backend | str:
        return model[name] if isinstance(model, Mapping) else model

    researcher: Agent[str, None] = Agent(
        model_for("researcher"),
        name="researcher",
        description="Looks orders up by id and reports what it finds.",
        tools=[lookup_order],
        system_prompt="You look orders up with lookup_order and report the facts, nothing else.",
        max_steps=4,
    )
    billing: Agent[str, None] = Agent(
        model_for("billing"),
        name="billing",
        description="Answers questions about charges, invoices and refunds.",
        tools=[researcher.as_tool(input_type=OrderQuestion)],  # the researcher gets an order id
        system_prompt="You are the billing specialist. Ask the researcher about the order, then answer.",
        max_steps=6,
    )
    return Agent(
        model_for("triage"),
        name="triage",
        # Billing starts from the customer's words only, not triage's transfer call and its result.
        handoffs=[Handoff(billing, input_filter=without_tool_calls)],
        system_prompt="You route the customer to the right specialist.",
        max_steps=4,
    )


def main(
    question: str = "Why was order A-1002 charged twice?",
    *,
    model: Backend | str | Mapping[str, Backend | str] | None = None,
) -> RunResult[str]:
    triage = build(model or os.environ.get("AGENTKIT_MODEL", "local"))
    result: RunResult[str] | None = None
    for event in triage.iter(question):
        if isinstance(event, HandedOff):
            print(f"[{event.source}] hands the conversation to {event.target}")
        elif isinstance(event, ToolCallStarted):
            print(f"[{event.path}] calls {event.call.name}({event.call.arguments})")
        elif isinstance(event, ToolCallFinished):
            print(f"[{event.path}] result: {event.result.content}")
        elif isinstance(event, FinalOutput) and is_own(event, triage.name):
            result = event.result  # the run's own answer (a child's answer is its tool result)
    assert result is not None
    print(f"answered by {result.agent}: {result.output}")
    for path, usage in result.usage_by_agent.items():
        print(f"  {path}: {usage.input_tokens} prompt + {usage.output_tokens} generated tokens")
    return result


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "Why was order A-1002 charged twice?")

"""Several agents in one run: agents used as tools of another, and handoffs between agents.

    researcher = Agent(model, name="researcher", description="Finds facts", tools=[web_search])
    triage = Agent(model, name="triage", tools=[researcher.as_tool()], handoffs=[billing, refunds])

See docs/multi-agent.md. The run tree (usage per agent, a shared :class:`~agentkit.Budget`) lives in
:mod:`agentkit.run_tree`, the handoff mechanics in the loop.
"""

from agentkit.multiagent.as_tool import agent_tool
from agentkit.multiagent.handoffs import Handoff, last_transfer, transfer_tool, without_tool_calls

__all__ = ["Handoff", "agent_tool", "last_transfer", "transfer_tool", "without_tool_calls"]

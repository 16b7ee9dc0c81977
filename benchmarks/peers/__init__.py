"""One small adapter module per framework; each exposes ``PACKAGES`` and ``prepare(workload)``."""

FRAMEWORKS: dict[str, str] = {
    "agentkit": "benchmarks.peers.agentkit_bench",
    "agentkit-inline": "benchmarks.peers.agentkit_inline_bench",
    "agentkit-nocontext": "benchmarks.peers.agentkit_nocontext_bench",
    "smolagents": "benchmarks.peers.smolagents_bench",
    "pydantic-ai": "benchmarks.peers.pydantic_ai_bench",
    "openai-agents": "benchmarks.peers.openai_agents_bench",
    "langgraph": "benchmarks.peers.langgraph_bench",
    # The nested rows: each tool call runs a child agent that answers at once (a nested call), or hands
    # the conversation to another agent (a handoff). NESTED pairs each nested row with its framework's
    # plain row; HANDOFFS names the handoff rows.
    "agentkit-nested": "benchmarks.peers.agentkit_nested_bench",
    "agentkit-handoff": "benchmarks.peers.agentkit_handoff_bench",
    "smolagents-managed": "benchmarks.peers.smolagents_managed_bench",
    "openai-agents-as-tool": "benchmarks.peers.openai_agents_nested_bench",
    "openai-agents-handoff": "benchmarks.peers.openai_agents_handoff_bench",
}
"""Framework name -> adapter module, in table order (agentkit first: the others are compared to it)."""

NESTED: dict[str, str] = {
    "agentkit-nested": "agentkit",
    "smolagents-managed": "smolagents",
    "openai-agents-as-tool": "openai-agents",
}
"""Nested row -> the same framework's plain row: their difference is the cost of one nested call."""

HANDOFFS: dict[str, str] = {"agentkit-handoff": "agentkit", "openai-agents-handoff": "openai-agents"}
"""Handoff row -> its framework. A handoff step replaces the tool call rather than adding to it, so
these rows are compared with each other (µs per step, each step a handoff), not with the plain rows."""

PEER_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "smolagents": ("smolagents==1.26.0",),
    "pydantic-ai": ("pydantic-ai-slim==2.68.0",),
    "openai-agents": ("openai-agents==0.24.0",),
    # langchain-core 1.8 needs a langchain-protocol release the registry here does not have.
    "langgraph": ("langgraph==1.2.12", "langchain-core==1.6.5"),
}
"""Pinned peer releases that install offline here, installed into .venv-peers by ``make bench-peers``."""

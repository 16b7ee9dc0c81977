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
    # the conversation to another agent (a handoff). NESTED pairs each with its framework's plain row.
    "agentkit-nested": "benchmarks.peers.agentkit_nested_bench",
    "agentkit-handoff": "benchmarks.peers.agentkit_handoff_bench",
    "smolagents-managed": "benchmarks.peers.smolagents_managed_bench",
    "openai-agents-as-tool": "benchmarks.peers.openai_agents_nested_bench",
    "openai-agents-handoff": "benchmarks.peers.openai_agents_handoff_bench",
}
"""Framework name -> adapter module, in table order (agentkit first: the others are compared to it)."""

NESTED: dict[str, str] = {
    "agentkit-nested": "agentkit",
    "agentkit-handoff": "agentkit",
    "smolagents-managed": "smolagents",
    "openai-agents-as-tool": "openai-agents",
    "openai-agents-handoff": "openai-agents",
}
"""Nested row -> the same framework's plain row: their difference is the cost of one nested call."""

PEER_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "smolagents": ("smolagents==1.26.0",),
    "pydantic-ai": ("pydantic-ai-slim==2.68.0",),
    "openai-agents": ("openai-agents==0.24.0",),
    # langchain-core 1.8 needs a langchain-protocol release the registry here does not have.
    "langgraph": ("langgraph==1.2.12", "langchain-core==1.6.5"),
}
"""Pinned peer releases that install offline here, installed into .venv-peers by ``make bench-peers``."""

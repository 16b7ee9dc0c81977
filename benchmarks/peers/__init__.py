"""One small adapter module per framework; each exposes ``PACKAGES`` and ``prepare(workload)``."""

FRAMEWORKS: dict[str, str] = {
    "agentkit": "benchmarks.peers.agentkit_bench",
    "agentkit-inline": "benchmarks.peers.agentkit_inline_bench",
    "agentkit-nocontext": "benchmarks.peers.agentkit_nocontext_bench",
    "smolagents": "benchmarks.peers.smolagents_bench",
    "pydantic-ai": "benchmarks.peers.pydantic_ai_bench",
    "openai-agents": "benchmarks.peers.openai_agents_bench",
    "langgraph": "benchmarks.peers.langgraph_bench",
}
"""Framework name -> adapter module, in table order (agentkit first: the others are compared to it)."""

PEER_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "smolagents": ("smolagents==1.26.0",),
    "pydantic-ai": ("pydantic-ai-slim==2.68.0",),
    "openai-agents": ("openai-agents==0.24.0",),
    # langchain-core 1.8 needs a langchain-protocol release the registry here does not have.
    "langgraph": ("langgraph==1.2.12", "langchain-core==1.6.5"),
}
"""Pinned peer releases that install offline here, installed into .venv-peers by ``make bench-peers``."""

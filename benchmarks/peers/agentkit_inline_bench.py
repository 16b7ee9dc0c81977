"""agentkit with ``@tool(inline=True)``: the quick sync tool runs on the event loop, no thread hop.

Same workload and adapter as agentkit_bench; the ratios in the table stay relative to the default row.
"""

from __future__ import annotations

from benchmarks.peers import agentkit_bench
from benchmarks.peers.common import RunOnce, Workload

PACKAGES = agentkit_bench.PACKAGES


def prepare(workload: Workload) -> RunOnce:
    return agentkit_bench.prepare(workload, inline=True)

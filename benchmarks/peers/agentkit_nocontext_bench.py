"""agentkit with an inline tool and ``context=False``: what is left when context management is off too.

Same workload and adapter as agentkit_bench; the difference to the agentkit-inline row is what keeping
each request within the context window costs per step.
"""

from __future__ import annotations

from benchmarks.peers import agentkit_bench
from benchmarks.peers.common import RunOnce, Workload

PACKAGES = agentkit_bench.PACKAGES


def prepare(workload: Workload) -> RunOnce:
    return agentkit_bench.prepare(workload, inline=True, context=False)

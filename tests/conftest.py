"""Shared test setup.

Network: pytest-socket (configured in pyproject's addopts) allows connections to loopback only, so no
test can reach the internet by accident; servers the tests start listen on 127.0.0.1.
"""

from __future__ import annotations

import os

# Never let transformers / huggingface_hub try the network from a test.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from hypothesis import HealthCheck, settings

# The machine is small and shared: no per-example deadline, a moderate number of examples.
settings.register_profile(
    "agentkit", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "agentkit"))

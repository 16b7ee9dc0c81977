"""examples/multi_agent.py on the embedded model: the triage agent hands off, the billing agent asks the
researcher (an agent used as a tool), whose lookup reaches billing's answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_help_desk_runs_on_the_embedded_model() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "multi_agent.py")],
        capture_output=True,
        text=True,
        timeout=400,
        check=True,
        env={**os.environ, "AGENTKIT_MODEL": "local"},
    )
    out = done.stdout
    assert "[triage] hands the conversation to billing" in out
    assert "[billing] calls researcher(" in out
    assert "[billing/researcher] calls lookup_order(" in out
    assert "[billing/researcher] result: order A-1002" in out  # the model took the id from the question
    assert "answered by billing:" in out
    assert "billing/researcher:" in out.split("answered by billing:")[1]  # the child's usage, by path

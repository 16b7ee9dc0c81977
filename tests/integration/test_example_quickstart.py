"""examples/quickstart.py (what `make demo` runs) works end to end on the embedded model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_calls_the_tool_and_prints_each_step() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    out = done.stdout
    assert "[step 1]" in out and "[step 2]" in out
    assert "calls multiply({'a': 37, 'b': 41})" in out
    assert "result: 1517.0" in out
    assert "final answer:" in out and "1517" in out.split("final answer:")[1]

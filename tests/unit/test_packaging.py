"""The package as users install it: light to import, and a wheel that carries tools/ and prompts/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "openai", "ddgs", "duckduckgo_search", "mcp", "jinja2", "jsonschema")
DEFERRED = ("asyncio", "concurrent.futures", "importlib.resources", "agentkit.loop")
"""Stdlib parts only a run needs (a third of the import time): loaded at the first run, not on import."""


def test_import_agentkit_stays_light() -> None:
    code = f"import sys, agentkit; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""


def test_import_agentkit_defers_what_only_a_run_needs() -> None:
    code = (
        f"import sys, agentkit; print(' '.join(m for m in {DEFERRED!r} if m in sys.modules)); "
        "from agentkit.testing import ScriptedBackend; "
        "print(agentkit.Agent(model=ScriptedBackend(['ok'])).run('hi').output)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["", "ok"]  # nothing deferred was loaded, and a run still works


@pytest.mark.slow
def test_wheel_contains_tools_and_prompts(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("agentkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "agentkit/tools/__init__.py" in names
    assert "agentkit/prompts/__init__.py" in names
    assert "agentkit/prompts/system.jinja" in names
    assert "agentkit/py.typed" in names
    assert not any(name.startswith(("tools/", "prompts/", "tests/")) for name in names)

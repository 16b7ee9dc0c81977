"""A first run through the Python API says that it is loading, on both engines: a log line on the
``agentkit.local`` logger and, when stderr is a terminal, a progress bar (the CLI's spinner did this
for the CLI only; ``Agent("local").run`` used to be silent for up to a minute)."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest

from agentkit import Agent
from agentkit.backends import ModelSettings
from agentkit.backends.local import feedback
from agentkit.backends.local import local_backend as any_local_backend
from agentkit.backends.transformers import backend as transformers_backend

pytestmark = pytest.mark.slow


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("engine", ["transformers", "llama"])
def test_a_first_run_says_it_is_loading(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a real first load: llama.cpp checks the file in a child process (no verdict in this cache yet);
    # transformers loads its weights (no copy is shared from an earlier test)
    # (transformers keeps using the user cache: its safetensors copy need not be converted again)
    if engine == "llama":
        monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(transformers_backend, "_models", {})
    monkeypatch.setattr(feedback, "DELAY", 0.0)  # a load of any length counts as slow here
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    agent = Agent(model=any_local_backend(engine=engine), settings=ModelSettings(max_tokens=3), max_steps=1)
    with caplog.at_level(logging.INFO, logger="agentkit.local"):
        result = agent.run("Say hi.")
    assert result.output
    messages = [r.getMessage() for r in caplog.records if r.name == "agentkit.local"]
    assert any("SmolLM2-135M-Instruct" in m and "this takes a while" in m for m in messages), messages
    assert any(m.startswith("loaded ") and "SmolLM2-135M-Instruct" in m for m in messages), messages
    drawn = terminal.getvalue()
    assert "SmolLM2-135M-Instruct" in drawn and "[" in drawn and drawn.endswith("\r")

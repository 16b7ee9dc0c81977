"""agentkit.tools as a package: light to import, ready tools with the documented names and flags."""

from __future__ import annotations

import subprocess
import sys

from agentkit import Tool
from agentkit.tools import calculator, fetch_url, python, web_search


def test_importing_the_tools_does_not_load_optional_dependencies() -> None:
    code = (
        "import sys, agentkit, agentkit.tools\n"
        "print(sorted(m for m in ('ddgs', 'html2text', 'lxml', 'openai', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_ready_tools_have_their_names_and_safe_defaults() -> None:
    tools = {"calculator": calculator, "fetch_url": fetch_url, "python": python, "web_search": web_search}
    for name, item in tools.items():
        assert isinstance(item, Tool) and item.name == name
        assert item.description  # a small model needs to be told what the tool is for
    assert [t.name for t in tools.values() if t.requires_approval] == ["python"]

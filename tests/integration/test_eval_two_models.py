"""``agentkit eval`` comparing two real models, as the docs show it: the embedded model in-process and
the same GGUF served by llama.cpp's OpenAI-compatible server, over real HTTP. Every case gets an
answer (a scored verdict, not a model error) from each, and the report sets them side by side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .cli_helpers import cli_env
from .test_llama_server import llama_server  # noqa: F401 - the module-scoped server fixture

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TOOLS = '''
from agentkit import tool


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: the first factor
        b: the second factor
    """
    raise AssertionError("an eval never runs the tools")
'''


def _case(case_id: str, a: int, b: int) -> str:
    return json.dumps(
        {
            "id": case_id,
            "category": "math",
            "prompt": f"Use the multiply tool: what is {a} times {b}?",
            "tools": ["multiply"],
            "expect": [{"name": "multiply", "arguments": {"a": a, "b": b}}],
        }
    )


def test_the_embedded_model_and_a_llama_cpp_server_side_by_side(
    llama_server: str,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    (tmp_path / "tools.py").write_text(TOOLS)
    (tmp_path / "cases.jsonl").write_text(_case("six-seven", 6, 7) + "\n" + _case("three-five", 3, 5) + "\n")
    server = f"openai:smollm2@{llama_server}"
    command = ["eval", "cases.jsonl", "--tool", "tools.py", "--model", "local", "--model", server]
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", *command, "--tool-choice", "multiply", "--json"],
        capture_output=True, text=True, timeout=540, cwd=tmp_path, env=cli_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    models = {m["model"]: m for m in json.loads(done.stdout)["models"]}
    assert set(models) == {"local", server}
    results = [json.loads(line) for line in (tmp_path / "eval-results" / "cases" / "cases.jsonl").open()]
    assert sorted((r["model"], r["id"]) for r in results) == sorted(
        (m, c) for m in ("local", server) for c in ("six-seven", "three-five")
    )
    for result in results:
        assert result["error"] is None, result  # each model answered every case
        assert result["calls"] and result["calls"][0]["name"] == "multiply", result  # tool_choice held
        assert (result["reason"] == "ok") == result["passed"], result
        assert result["input_tokens"] > 0 and result["output_tokens"] > 0
    for label, model in models.items():
        assert model["total"] == 2 and model["passed"] == sum(
            r["passed"] for r in results if r["model"] == label
        )
    html = (tmp_path / "eval-results" / "cases" / "report.html").read_text()
    assert "local" in html and llama_server in html

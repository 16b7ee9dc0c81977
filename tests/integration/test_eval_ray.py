"""``agentkit eval --engine ray``: the same cases on a real local Ray cluster, each actor building its
own model from the model string (the prepared cases travel to it as plain data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit.batch import read_results
from agentkit.batch.ray_engine import RayEngine
from agentkit.eval import evaluate, parse_cases

from .cli_helpers import run_cli

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _cases(n: int) -> list[str]:
    cities = ["Paris", "Rome"]
    return [
        json.dumps(
            {
                "id": f"c{i:02d}",
                "prompt": f"Weather in {cities[i % 2]}?",
                "tools": [
                    {
                        "name": "get_weather",
                        "description": "The weather in a city.",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        },
                    }
                ],
                "expect": [{"name": "get_weather", "arguments": {"city": cities[i % 2]}}],
            }
        )
        for i in range(n)
    ]


def _script(path: Path) -> str:
    """Every reply calls get_weather(city="Paris"): right for half the cases, wrong for the others."""
    reply = {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
    path.write_text(json.dumps([reply] * 40))  # the driver's reachability check takes one too
    return f"scripted:{path}"


def test_eval_on_a_local_ray_cluster_runs_every_case_once_across_actors(tmp_path: Path) -> None:
    model = _script(tmp_path / "model.json")
    engine = RayEngine(
        workers=2,
        num_cpus=2,
        cpus_per_worker=0,
        init_options={"include_dashboard": False, "log_to_driver": False},
    )
    report = evaluate(parse_cases(_cases(12), "cases.jsonl"), model, out_dir=tmp_path / "out", engine=engine)
    assert report.model(model).total == 12 and report.model(model).passed == 6
    assert {r.case_id for r in report.failures()} == {f"c{i:02d}" for i in range(1, 12, 2)}
    (runs,) = (tmp_path / "out" / "runs").glob("*.jsonl")  # next to it: the throughput file
    stored = read_results(runs)
    assert len(stored) == 12 and len({r.task_id for r in stored}) == 12
    assert len({r.worker for r in stored}) == 2  # both actors took cases


def test_the_cli_takes_engine_ray(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text("\n".join(_cases(4)) + "\n")
    model = _script(tmp_path / "model.json")
    done = run_cli(
        "eval", "cases.jsonl", "--model", model, "--engine", "ray", "--workers", "1", "--json", cwd=tmp_path
    )
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["models"][0]["passed"] == 2

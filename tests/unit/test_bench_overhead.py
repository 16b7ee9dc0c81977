"""The overhead benchmark's harness: runs are verified, missing peers are reported, never faked.

Only agentkit's adapter runs here (the peers live in .venv-peers, not in the test venv).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys

import pytest

from benchmarks import overhead
from benchmarks.peers import (
    FRAMEWORKS,
    HANDOFFS,
    NESTED,
    PEER_REQUIREMENTS,
    agentkit_bench,
    agentkit_handoff_bench,
    agentkit_inline_bench,
    agentkit_nested_bench,
    agentkit_nocontext_bench,
    run,
)
from benchmarks.peers.common import FINAL_ANSWER, Counts, Prepare, Workload, measure, run_all, verify


def test_workload_scripts_n_minus_one_calls_then_an_answer() -> None:
    workload = Workload(3)
    actions = [workload.next_action() for _ in range(3)]
    assert [a[0] for a in actions] == ["call", "call", "answer"]
    assert len({a[2] for a in actions[:2]}) == 2  # distinct call ids


def test_verify_accepts_the_full_workload_only() -> None:
    verify(Counts(5, 4, 5, 4, FINAL_ANSWER), 5)
    broken = [
        Counts(5, 3, 5, 4, FINAL_ANSWER),  # a tool call did not run
        Counts(4, 4, 5, 4, FINAL_ANSWER),  # a model call is missing
        Counts(5, 4, 1, 4, FINAL_ANSWER),  # the framework stopped early
        Counts(5, 4, 5, 0, FINAL_ANSWER),  # tool results never went back
        Counts(5, 4, 5, 4, "max_steps"),  # no final answer
    ]
    for counts in broken:
        with pytest.raises(AssertionError, match="workload not executed"):
            verify(counts, 5)


@pytest.mark.parametrize(
    "prepare",
    [
        agentkit_bench.prepare,
        agentkit_inline_bench.prepare,
        agentkit_nocontext_bench.prepare,
        agentkit_nested_bench.prepare,
        agentkit_handoff_bench.prepare,
    ],
)
def test_agentkit_adapters_run_the_workload_and_report_a_time(prepare: Prepare) -> None:
    results = run_all(prepare, [3, 12], repeats=2, min_time=0.0)
    for n in ("3", "12"):
        assert results[n]["wall_us_per_step"] > 0  # type: ignore[operator]
        assert results[n]["cpu_us_per_step"] > 0  # type: ignore[operator]
        assert len(results[n]["cpu_samples"]) == 2  # type: ignore[arg-type]


def test_a_broken_adapter_cannot_report_a_time() -> None:
    def prepare(workload: Workload):  # a "framework" that answers at once without calling the tool
        def run_once() -> Counts:
            workload.next_action()
            return Counts(workload.model_calls, workload.tool_calls, 1, 0, FINAL_ANSWER)

        return run_once

    with asyncio.Runner() as loop, pytest.raises(AssertionError, match="workload not executed"):
        measure(prepare, 10, repeats=1, min_time=0.0, max_time=1.0, loop=loop)


def test_an_unimportable_framework_is_reported_not_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(FRAMEWORKS, "smolagents", "benchmarks.peers.no_such_adapter_module")
    assert run.main(["smolagents"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["status"] == "not installed"
    assert "no_such_adapter_module" in row["reason"]


def test_every_peer_has_an_adapter_and_pinned_requirements() -> None:
    assert next(iter(FRAMEWORKS)) == "agentkit"
    own = {"agentkit", "agentkit-inline", "agentkit-nocontext", "agentkit-nested", "agentkit-handoff"}
    plain = set(FRAMEWORKS) - own - set(NESTED) - set(HANDOFFS)
    assert set(PEER_REQUIREMENTS) == plain
    # Each nested row is measured against its own framework's plain row.
    assert set(NESTED) | set(HANDOFFS) <= set(FRAMEWORKS)
    assert set(NESTED.values()) | set(HANDOFFS.values()) <= plain | {"agentkit"}
    for requirements in PEER_REQUIREMENTS.values():
        assert all("==" in r for r in requirements)


def test_table_has_ratios_and_no_number_for_a_missing_peer() -> None:
    def ok(version: str, a: float, b: float) -> dict[str, object]:
        return {
            "status": "ok",
            "version": version,
            "results": {"10": {"cpu_us_per_step": a}, "300": {"cpu_us_per_step": b}},
        }

    rows = {
        "agentkit": ok("agentkit 0.1.0", 20.0, 25.0),
        "smolagents": ok("smolagents 1.26.0", 400.0, 1500.0),
        "langgraph": {"status": "not installed", "reason": "pip could not install langgraph==9"},
    }
    table = overhead.render(rows, [10, 300], "python")
    lines = table.splitlines()
    smol = next(line for line in lines if line.startswith("smolagents"))
    assert "3.75" in smol  # 1500 / 400: growth from N=10 to N=300
    assert "20.0x" in smol and "60.0x" in smol  # 400 / 20 and 1500 / 25
    agentkit = next(line for line in lines if line.startswith("agentkit"))
    assert "1.25" in agentkit and "1.0x" in agentkit
    missing = next(line for line in lines if line.startswith("langgraph"))
    assert "not installed" in missing and not any(ch.isdigit() for ch in missing)
    assert "langgraph: not installed: pip could not install langgraph==9" in table


def test_a_nested_call_is_priced_against_its_own_frameworks_plain_row() -> None:
    def ok(a: float, b: float) -> dict[str, object]:
        return {
            "status": "ok",
            "version": "v",
            "results": {"10": {"cpu_us_per_step": a}, "300": {"cpu_us_per_step": b}},
        }

    rows = {
        "agentkit": ok(100.0, 120.0),
        "agentkit-nested": ok(250.0, 300.0),
        "openai-agents": ok(1000.0, 3000.0),
        "openai-agents-as-tool": ok(3000.0, 6000.0),
        "smolagents-managed": {"status": "not installed", "reason": "no"},
        "agentkit-handoff": ok(80.0, 100.0),
        "openai-agents-handoff": ok(2000.0, 15000.0),
    }
    lines = overhead.render_nested(rows, [10, 300]).splitlines()
    nested = next(line for line in lines if "agentkit-nested" in line)
    assert "N=10: 150 µs" in nested and "N=300: 180 µs" in nested and "1.5 plain agentkit steps" in nested
    as_tool = next(line for line in lines if "openai-agents-as-tool" in line)
    assert "N=10: 2,000 µs" in as_tool and "25.0 plain agentkit steps" in as_tool  # 3000 / 120
    assert not any("smolagents-managed" in line for line in lines)  # no numbers, no line
    handoff = next(line for line in lines if "openai-agents-handoff" in line)
    assert "N=300: 15,000 µs" in handoff and "150.0x agentkit's" in handoff


def test_a_failing_adapter_becomes_a_failed_row_without_numbers() -> None:
    # N=0 cannot be scripted (the answer alone is one step), so verification fails in the subprocess.
    args = argparse.Namespace(ns=[0], repeats=1, min_time=0.0, max_time=1.0, timeout=120.0)
    row = overhead.measure("agentkit", sys.executable, args)
    assert row["status"] == "failed"
    assert "workload not executed" in str(row["reason"])
    assert "results" not in row


def test_thread_hop_benchmark_prints_a_row_for_each_way() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.thread_hop", "--calls", "20", "--repeats", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "µs" not in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| direct call (no thread)",
        "| agentkit ToolThreads.run",
        "| asyncio.to_thread",
    ]
    assert all(float(row.split(" | ")[1]) > 0 for row in rows[1:])

"""Local models: agentkit's transformers backend against naive re-prefill and smolagents.

(1) growth: a scripted 10-step agent conversation (``benchmarks/localbench/workload.py``) on the
embedded SmolLM2-135M: each step the model is called on the whole conversation, then the same
``read_page`` call and a ~200-token page are appended for every framework. Compared: agentkit with
KV-cache reuse, the same backend with ``reuse_cache=False`` (naive re-prefill), and smolagents'
``TransformersModel`` on the same weights (the safetensors copy agentkit makes of the GGUF). All greedy,
32 new tokens at most, one torch thread. Reported: wall time and prompt tokens run through the model,
against the unique tokens (the prefix tree of all prompts, what a perfect cache would prefill).
Targets: agentkit at least 2x faster than naive; prefilled at most 1.1x unique.

(2) bfcl: BFCL simple_python (from the ``bfcl-eval`` package), one call per case, run and scored by
``agentkit eval --bfcl simple_python --model local`` (the same command users run; one scorer for every
figure). smolagents: ``ToolCallingAgent``'s first step (its system prompt listing the tool,
``generate``, ``parse_tool_calls``), its calls scored by the same ``agentkit.eval`` scorer. Target:
agentkit >= 70% of all cases. smolagents is slow here (up to 256 free tokens a case), so it may run on
the first N cases only (``--peer-limit``); the table then also shows agentkit on that same subset.

Each framework runs in its own interpreter: agentkit in this one's venv, smolagents in .venv-peers.
Per-case and per-step results go to benchmarks/results/ (gitignored).

    make bench-local                                   # everything (all BFCL cases; takes long)
    .venv/bin/python benchmarks/local.py --part bfcl --limit 20
    .venv/bin/python benchmarks/local.py --part bfcl --resume   # keep the results of an earlier eval run
    .venv/bin/python benchmarks/local.py --part growth
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


FAILURES: list[str] = []


def _failed(label: str, run: dict[str, Any]) -> str:
    FAILURES.append(f"{label}: {run['failed']}")
    return "failed (see below)"


def _worker(python: str, module: str, args: list[str], out: Path) -> dict[str, Any]:
    command = [python, "-m", f"benchmarks.localbench.{module}", *args, "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        return {"failed": f"exit status {done.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _model_dir() -> str:
    from agentkit.backends.transformers.loading import embedded_gguf, gguf_cache_dir

    return str(gguf_cache_dir(embedded_gguf()))


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def growth(peers_python: str | None, threads: int) -> str:
    runs: dict[str, dict[str, Any]] = {}
    t = ["--threads", str(threads)]
    runs["agentkit"] = _worker(
        sys.executable, "agentkit_worker", ["growth", *t], RESULTS / "local-growth-agentkit.json"
    )
    runs["naive"] = _worker(
        sys.executable, "agentkit_worker", ["growth", "--naive", *t], RESULTS / "local-growth-naive.json"
    )
    if peers_python:
        args = ["growth", "--model-dir", _model_dir(), *t]
        runs["smolagents"] = _worker(
            peers_python, "smolagents_worker", args, RESULTS / "local-growth-smolagents.json"
        )
    naive = runs["naive"]
    rows = []
    for key, label in [
        ("agentkit", "agentkit (KV reuse)"),
        ("naive", "agentkit, reuse_cache=False"),
        ("smolagents", "smolagents TransformersModel"),
    ]:
        run = runs.get(key)
        if run is None:
            rows.append([label, "not run (no .venv-peers)", *[""] * 6])
            continue
        if "failed" in run:
            rows.append([label, _failed(label, run), *[""] * 6])
            continue
        faster = f"{naive['wall_s'] / run['wall_s']:.2f}x" if "wall_s" in naive else "-"
        same = "-"
        if key == "agentkit" and "steps" in naive:
            same = (
                "yes"
                if [s["generated_ids"] for s in run["steps"]] == [s["generated_ids"] for s in naive["steps"]]
                else "NO"
            )
        rows.append(
            [
                label,
                f"{run['wall_s']:.1f}",
                faster,
                str(run["tokens_prefilled"]),
                str(run["unique_tokens"]),
                f"{run['tokens_prefilled'] / run['unique_tokens']:.2f}",
                str(run["tokens_generated"]),
                same,
            ]
        )
    header = [
        "run",
        "wall s",
        "naive/run",
        "prefilled",
        "unique",
        "prefilled/unique",
        "generated",
        "same ids as naive",
    ]
    return _table(header, rows)


def _bfcl_row(label: str, cases: list[dict[str, Any]]) -> list[str]:
    correct = sum(bool(c["passed"]) for c in cases)
    calls = sum(len(c["calls"]) == 1 for c in cases)
    per_case = f"{sum(c['seconds'] for c in cases) / len(cases):.2f}" if cases else "-"
    pct = f"{100 * correct / len(cases):.1f}%" if cases else "-"
    return [label, str(len(cases)), str(correct), pct, str(calls), per_case]


def eval_out(limit: int | None) -> Path:
    return RESULTS / ("eval-bfcl-simple_python" + (f"-first{limit}" if limit is not None else ""))


def agentkit_eval(limit: int | None, threads: int, resume: bool) -> dict[str, Any]:
    """``agentkit eval --bfcl simple_python --model local``; its per-case results."""
    out = eval_out(limit)
    if not resume and out.exists():
        shutil.rmtree(out)  # a benchmark measures afresh unless asked to resume
    command = [sys.executable, "-m", "agentkit", "eval", "--bfcl", "simple_python", "--model", "local"]
    command += ["--out", str(out), "--quiet", *(["--limit", str(limit)] if limit is not None else [])]
    env = {**os.environ, "AGENTKIT_TORCH_THREADS": str(threads)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        return {"failed": f"agentkit eval exit status {done.returncode}: {tail}"}
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    return {"wall_s": time.perf_counter() - started, "cases": cases, "report": str(out / "report.html")}


def bfcl(
    limit: int | None, peer_limit: int | None, peers_python: str | None, threads: int, resume: bool
) -> str:
    t = ["--threads", str(threads)]
    ours = agentkit_eval(limit, threads, resume)
    rows: list[list[str]] = []
    if "failed" in ours:
        rows.append(["agentkit", _failed("agentkit bfcl", ours), "", "", "", ""])
        ours_cases: list[dict[str, Any]] = []
    else:
        ours_cases = ours["cases"]
        rows.append(_bfcl_row("agentkit (local, agentkit eval)", ours_cases))
    if peers_python:
        n = peer_limit if peer_limit is not None else limit
        args = ["bfcl", "--model-dir", _model_dir(), *(["--limit", str(n)] if n is not None else []), *t]
        theirs = _worker(peers_python, "smolagents_worker", args, RESULTS / "local-bfcl-smolagents.json")
        if "failed" in theirs:
            rows.append(["smolagents", _failed("smolagents bfcl", theirs), "", "", "", ""])
        else:
            subset = theirs["cases"]
            if ours_cases and len(subset) < len(ours_cases):
                ids = {c["id"] for c in subset}
                rows.append(
                    _bfcl_row(f"agentkit, first {len(subset)}", [c for c in ours_cases if c["id"] in ids])
                )
            rows.append(_bfcl_row("smolagents (ToolCallingAgent step)", subset))
    header = ["framework", "cases", "correct", "accuracy", "exactly one call", "s/case"]
    table = _table(header, rows)
    if "report" in ours:
        table += f"\nagentkit eval's report: {ours['report']}"
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["growth", "bfcl", "all"], default="all")
    parser.add_argument("--limit", type=int, default=None, help="BFCL: first N cases (default: all)")
    parser.add_argument("--peer-limit", type=int, default=None, help="BFCL: first N cases for smolagents")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads in every framework")
    parser.add_argument("--peers-python", default=str(ROOT / ".venv-peers" / "bin" / "python"))
    parser.add_argument("--no-peers", action="store_true", help="agentkit only")
    parser.add_argument("--resume", action="store_true", help="BFCL: keep agentkit eval's earlier results")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    peers = None if args.no_peers or not Path(args.peers_python).exists() else args.peers_python
    started = time.perf_counter()
    if args.part in ("growth", "all"):
        print("10-step growth workload, SmolLM2-135M, greedy, 32 new tokens max, CPU", flush=True)
        print(growth(peers, args.threads), flush=True)
        print(flush=True)
    if args.part in ("bfcl", "all"):
        print("BFCL simple_python, SmolLM2-135M (embedded GGUF), greedy, 256 new tokens max", flush=True)
        print(bfcl(args.limit, args.peer_limit, peers, args.threads, args.resume), flush=True)
    for failure in FAILURES:
        print(f"\n{failure}", flush=True)
    print(
        f"\ntotal {time.perf_counter() - started:.0f} s; per-case/per-step results in {RESULTS}", flush=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

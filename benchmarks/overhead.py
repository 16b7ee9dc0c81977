"""Per-step overhead of the agent loop: agentkit against smolagents, pydantic-ai, openai-agents, LangGraph.

What it compares: microseconds per agent step (one model call, plus its tool call) when the model costs
nothing. Each framework runs the same scripted workload at N = 10, 100 and 300 steps: a fake model calls
a trivial ``add(a: int, b: int)`` tool N-1 times, one call per step, then answers in text. What remains
is each framework's own work per step: building requests, validating and running tool calls, keeping
history. Every run is checked to have made N model calls and N-1 tool calls and returned the answer.

Each framework is measured in its own fresh interpreter (``python -m benchmarks.peers.run NAME``), by
default the one in .venv-peers (``make bench-peers``), where agentkit is installed editable next to the
peers; the figure is the median of several samples, each at least --min-time seconds of back-to-back runs
after two warm-up runs. The machine is shared and noisy: compare the ratios within one table, not
absolute numbers across runs.

    make bench                              # installs .venv-peers if needed, then runs this
    .venv-peers/bin/python benchmarks/overhead.py --repeats 7 --only agentkit,langgraph
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.peers import FRAMEWORKS, HANDOFFS, NESTED  # noqa: E402

PEERS_VENV = ROOT / ".venv-peers"
INSTALL_REPORT = PEERS_VENV / "peers-install.json"
"""Written by benchmarks/install_peers.py: why a peer could not be installed, if one could not."""

Row = dict[str, object]


def _default_python() -> str:
    candidate = PEERS_VENV / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def _install_failures() -> dict[str, str]:
    try:
        report = json.loads(INSTALL_REPORT.read_text())
    except (OSError, ValueError):
        return {}
    return {name: str(reason) for name, reason in report.items() if reason != "ok"}


def measure(name: str, python: str, args: argparse.Namespace) -> Row:
    """Run one framework's adapter in a fresh interpreter; a failure becomes a row without numbers."""
    command = [
        python,
        "-m",
        "benchmarks.peers.run",
        name,
        "--ns",
        ",".join(str(n) for n in args.ns),
        "--repeats",
        str(args.repeats),
        "--min-time",
        str(args.min_time),
        "--max-time",
        str(args.max_time),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"timed out after {args.timeout:.0f} s"}
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or [f"exit status {done.returncode}"]
        return {"status": "failed", "reason": lines[-1]}
    row: Row = json.loads(done.stdout.strip().splitlines()[-1])
    if row["status"] == "not installed":
        failure = _install_failures().get(name)
        if failure:
            row["reason"] = failure
        elif not PEERS_VENV.exists():
            row["reason"] = f"{row['reason']} (run `make bench-peers`)"
    return row


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _per_step(row: Row, ns: list[int], clock: str) -> list[float] | None:
    """The row's median µs/step for each N, or None when it has no numbers (not installed, failed)."""
    if row.get("status") != "ok":
        return None
    results = row["results"]
    assert isinstance(results, dict)
    return [float(results[str(n)][f"{clock}_us_per_step"]) for n in ns]


def render(rows: dict[str, Row], ns: list[int], python: str, clock: str = "cpu") -> str:
    """The table: µs/step per N, growth from the smallest to the largest N, and each row / agentkit."""
    first, last = ns[0], ns[-1]
    header = (
        ["framework", "version"]
        + [f"N={n} µs/step" for n in ns]
        + [f"N={last}/N={first}"]
        + [f"÷agentkit N={n}" for n in ns]
    )
    base = _per_step(rows.get("agentkit", {}), ns, clock)
    table: list[list[str]] = []
    notes: list[str] = []
    for name, row in rows.items():
        per_n = _per_step(row, ns, clock)
        if per_n is None:
            table.append([name, str(row["status"])] + ["-"] * (len(header) - 2))
            notes.append(f"{name}: {row['status']}: {row.get('reason', '')}")
            continue
        cells = [name, str(row["version"])] + [_us(v) for v in per_n]
        cells.append(f"{per_n[-1] / per_n[0]:.2f}")
        if base is not None:
            cells += [f"{v / b:.1f}x" for v, b in zip(per_n, base, strict=True)]
        else:
            cells += ["-"] * len(ns)
        table.append(cells)
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    out = [
        "Per-step agent overhead: scripted model, add(a, b) tool called N-1 times, then an answer "
        f"({clock} time; python {python}; load average {load})",
        line(header),
        line(["-" * w for w in widths]),
        *(line(r) for r in table),
        f"µs/step: {clock} time, median over samples of back-to-back verified runs. N={last}/N={first}: "
        "growth of the per-step cost with history length (flat = 1.0). ÷agentkit: how many times "
        "agentkit's per-step time at the same N.",
    ]
    return "\n".join(out + notes)


def render_nested(rows: dict[str, Row], ns: list[int], clock: str = "cpu") -> str:
    """What one nested call (a child agent run as a tool) adds to a step: the nested row's µs/step
    minus its framework's plain row, also in plain agentkit steps (the target: at most 2); and each
    handoff row's µs per step (every step a handoff) beside agentkit's."""
    base = _per_step(rows.get("agentkit", {}), ns, clock)
    lines = [f"Cost of one nested call ({clock} µs; = nested row - same framework's plain row, per step)"]
    for name, plain_name in NESTED.items():
        nested, plain = (
            _per_step(rows.get(name, {}), ns, clock),
            _per_step(rows.get(plain_name, {}), ns, clock),
        )
        if nested is None or plain is None:
            continue
        costs = [n - p for n, p in zip(nested, plain, strict=True)]
        cells = [f"N={n}: {_us(c)} µs" for n, c in zip(ns, costs, strict=True)]
        if base is not None:
            cells.append(f"= {costs[-1] / base[-1]:.1f} plain agentkit steps at N={ns[-1]}")
        lines.append(f"  {name:<24} " + ", ".join(cells))
    handoff_base = _per_step(rows.get("agentkit-handoff", {}), ns, clock)
    handoffs = [f"One handoff per step ({clock} µs per step)"]
    for name in HANDOFFS:
        per_n = _per_step(rows.get(name, {}), ns, clock)
        if per_n is None:
            continue
        cells = [f"N={n}: {_us(v)} µs" for n, v in zip(ns, per_n, strict=True)]
        if handoff_base is not None:
            cells.append(f"= {per_n[-1] / handoff_base[-1]:.1f}x agentkit's at N={ns[-1]}")
        handoffs.append(f"  {name:<24} " + ", ".join(cells))
    parts = [block for block in (lines, handoffs) if len(block) > 1]
    return "\n".join("\n".join(block) for block in parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-step agent overhead: agentkit vs its peers.")
    parser.add_argument("--ns", type=lambda s: [int(x) for x in s.split(",")], default=[10, 100, 300])
    parser.add_argument("--repeats", type=int, default=5, help="samples per N (the median is reported)")
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per sample, at least")
    parser.add_argument("--max-time", type=float, default=30.0, help="seconds per N before sampling stops")
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="cpu: process CPU time (steady on a shared machine, the default); wall: elapsed time",
    )
    parser.add_argument("--only", default="", help="comma-separated frameworks (default: all)")
    parser.add_argument("--python", default=_default_python(), help="interpreter that runs the adapters")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per framework")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(FRAMEWORKS)
    unknown = sorted(set(names) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown framework(s) {unknown}; choose from {list(FRAMEWORKS)}")
    rows: dict[str, Row] = {}
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        rows[name] = measure(name, args.python, args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print(render(rows, args.ns, args.python, args.clock))
    nested = render_nested(rows, args.ns, args.clock)
    if nested:
        print(nested)
    failed = [n for n, r in rows.items() if r.get("status") == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

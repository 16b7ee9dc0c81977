"""How long `import agentkit` takes, and what it pulls in.

Compares a fresh interpreter importing agentkit against one importing nothing (the interpreter's own
start-up), median of several runs, so the figure is agentkit's own cost. Target: under 150 ms.
What only a run needs (asyncio, the loop) loads at the first run, so the table also shows the time to
the end of a first one-step run, where those costs land.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 15
FIRST_RUN = (
    "import agentkit; from agentkit.testing import ScriptedBackend; "
    "agentkit.Agent(model=ScriptedBackend(['ok'])).run('hi')"
)
HEAVY = ("torch", "transformers", "openai", "ddgs", "mcp", "jinja2", "jsonschema")


def _median_seconds(code: str) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    baseline = _median_seconds("pass")
    with_agentkit = _median_seconds("import agentkit")
    first_run = _median_seconds(FIRST_RUN)
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, agentkit; print([m for m in {HEAVY!r} if m in sys.modules])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print("| measure | value |")
    print("|---|---|")
    print(f"| interpreter start-up (median of {RUNS}) | {baseline * 1000:.0f} ms |")
    print(f"| start-up + import agentkit | {with_agentkit * 1000:.0f} ms |")
    print(f"| import agentkit alone | {(with_agentkit - baseline) * 1000:.0f} ms (target < 150 ms) |")
    print(f"| import agentkit + a first one-step run | {(first_run - baseline) * 1000:.0f} ms |")
    print(f"| heavy modules loaded | {loaded} |")


if __name__ == "__main__":
    main()

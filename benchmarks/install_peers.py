"""Create .venv-peers with agentkit (editable) and the pinned peer frameworks: ``make bench-peers``.

The peers never go into the project's .venv. All peers are installed in one pip command so their shared
dependencies resolve together; if that fails (a release missing from the registry here), each peer is
tried alone and the reason a peer could not be installed is written to .venv-peers/peers-install.json,
which benchmarks/overhead.py prints instead of a number for that peer.
torch is constrained to 2.13.0 (the CPU build on local disk) in case a peer ever pulls it in.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.peers import PEER_REQUIREMENTS  # noqa: E402

CONSTRAINTS = ROOT / "benchmarks" / "peers" / "constraints.txt"


def _pip(python: Path, *requirements: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(python),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "-q",
        "-c",
        str(CONSTRAINTS),
    ]
    return subprocess.run([*command, *requirements], cwd=ROOT, capture_output=True, text=True)


def _reason(done: subprocess.CompletedProcess[str]) -> str:
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    return " | ".join(errors[-2:]) or f"pip exit status {done.returncode}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-peers")
    args = parser.parse_args(argv)
    venv_dir: Path = args.venv if args.venv.is_absolute() else ROOT / args.venv
    python = venv_dir / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(venv_dir)
    done = _pip(python, "-e", str(ROOT))
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return 1  # without agentkit itself there is nothing to compare against
    report: dict[str, str] = {}
    everything = [req for reqs in PEER_REQUIREMENTS.values() for req in reqs]
    if _pip(python, *everything).returncode == 0:
        report = dict.fromkeys(PEER_REQUIREMENTS, "ok")
    else:
        for name, requirements in PEER_REQUIREMENTS.items():
            done = _pip(python, *requirements)
            report[name] = (
                "ok"
                if done.returncode == 0
                else f"pip could not install {' '.join(requirements)}: {_reason(done)}"
            )
    (venv_dir / "peers-install.json").write_text(json.dumps(report, indent=2))
    for name, status in report.items():
        print(f"{name}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

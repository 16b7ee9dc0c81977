"""Measure one framework and print the result as one JSON line: ``python -m benchmarks.peers.run NAME``.

overhead.py starts this in a fresh interpreter per framework, so no framework's imports, caches or
garbage slow down another's measurement. An adapter whose framework cannot be imported reports
``not installed`` with the reason instead of a number.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from importlib import metadata

from benchmarks.peers import FRAMEWORKS
from benchmarks.peers.common import run_all


def _versions(packages: tuple[str, ...]) -> str:
    parts = []
    for name in packages:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} ?")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("framework", choices=list(FRAMEWORKS))
    parser.add_argument("--ns", default="10,100,300")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--max-time", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        adapter = importlib.import_module(FRAMEWORKS[args.framework])
    except ImportError as error:
        print(json.dumps({"status": "not installed", "reason": f"{type(error).__name__}: {error}"}))
        return 0
    ns = [int(n) for n in args.ns.split(",")]
    results = run_all(
        adapter.prepare, ns, repeats=args.repeats, min_time=args.min_time, max_time=args.max_time
    )
    print(json.dumps({"status": "ok", "version": _versions(adapter.PACKAGES), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

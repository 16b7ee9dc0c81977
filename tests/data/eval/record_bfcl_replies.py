"""Record the embedded model's real replies to every BFCL case the agreement test replays.

    nice -n 10 .venv/bin/python tests/data/eval/record_bfcl_replies.py            # resumable
    nice -n 10 .venv/bin/python tests/data/eval/record_bfcl_replies.py --categories parallel,multiple
    .venv/bin/python tests/data/eval/record_bfcl_replies.py --seed eval-results/X/cases.jsonl
    .venv/bin/python tests/data/eval/record_bfcl_replies.py --pack                # -> .jsonl.gz

One model load, one case at a time through ``agentkit.eval``'s own request path (the case's messages and
tools, ``tool_choice="auto"``, greedy, 256 tokens). Each reply is appended to a plain JSONL as soon as
it is decoded, so a killed run resumes where it stopped. Cases are taken round-robin across categories,
so a partial recording still covers every category. ``--pack`` writes the compact, gzipped file the
test reads: ``{"id", "calls": [[name, arguments, error|null], ...]}`` or ``{"id", "error"}``.

Thousands of cases at a few seconds each: hours of CPU. These are our own model's outputs, kept in the
repository as test data so the agreement test needs no model.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
import time
from itertools import zip_longest
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / "bfcl_local_replies.work.jsonl"  # gitignored
PACKED = HERE / "bfcl_local_replies.jsonl.gz"


def _round_robin(groups: list[list[Any]]) -> list[Any]:
    return [item for batch in zip_longest(*groups) for item in batch if item is not None]


def _done(path: Path) -> set[str]:
    if not path.exists():
        return set()
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            ids.add(json.loads(line)["id"])
        except (json.JSONDecodeError, KeyError):
            continue  # a line cut by a kill: that case is asked again
    return ids


async def record(threads: int, limit: int | None, categories: str) -> None:
    from agentkit.backends.transformers import local_backend
    from agentkit.eval.bfcl import CATEGORIES, load_bfcl
    from agentkit.eval.case_run import EvalSettings, run_case
    from agentkit.eval.prepare import prepare

    groups = []
    for category in CATEGORIES if categories == "all" else categories.split(","):
        prepared, problems = prepare(load_bfcl(category), [])
        assert not problems, problems[:3]
        groups.append(prepared)
    todo = _round_robin(groups)
    done = _done(WORK)
    todo = [p for p in todo if p.case.id not in done][:limit]
    print(f"{len(done)} recorded, {len(todo)} to go", flush=True)
    backend = local_backend(threads=threads)
    await backend.aload()
    settings = EvalSettings()
    started = time.perf_counter()
    with WORK.open("a", encoding="utf-8") as out:
        for number, prepared in enumerate(todo, start=1):
            result = await run_case(backend, "local", prepared, settings)
            row: dict[str, Any] = {"id": result.case_id}
            if result.error is not None:
                row["error"] = result.error
            else:
                row["calls"] = [[c.name, dict(c.arguments), c.error] for c in result.calls]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            if number % 25 == 0:
                rate = (time.perf_counter() - started) / number
                print(f"{number}/{len(todo)}  {rate:.1f} s/case", flush=True)


def seed(per_case: Path) -> None:
    """Take the replies of an ``agentkit eval --bfcl ... --model local`` run (its ``cases.jsonl``):
    the same request path, so the same replies, without asking the model again."""
    done = _done(WORK)
    added = 0
    with WORK.open("a", encoding="utf-8") as out:
        for line in per_case.read_text(encoding="utf-8").splitlines():
            result = json.loads(line)
            if result["model"] != "local" or result["id"] in done:
                continue
            row: dict[str, Any] = {"id": result["id"]}
            if result.get("error"):
                row["error"] = result["error"]
            else:
                row["calls"] = [[c["name"], c["arguments"], c.get("error")] for c in result["calls"]]
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            added += 1
    print(f"{added} replies taken from {per_case}")


def pack() -> None:
    rows = {}
    for line in WORK.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows[row["id"]] = row
    ordered = sorted(rows.values(), key=lambda r: r["id"])
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in ordered)
    with PACKED.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(text.encode("utf-8"))  # mtime=0: the same replies give the same bytes
    print(f"{len(ordered)} replies -> {PACKED} ({PACKED.stat().st_size} bytes)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="at most N more cases this run")
    parser.add_argument("--categories", default="all", help="comma-separated BFCL categories (default: all)")
    parser.add_argument("--seed", type=Path, help="take the replies of an eval run's cases.jsonl")
    parser.add_argument("--pack", action="store_true", help="write the gzipped file the test reads")
    args = parser.parse_args()
    if args.seed:
        seed(args.seed)
    elif args.pack:
        pack()
    else:
        asyncio.run(record(args.threads, args.limit, args.categories))
    return 0


if __name__ == "__main__":
    sys.exit(main())

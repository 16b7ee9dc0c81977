"""``agentkit eval``: how well models call your tools, offline, scored by BFCL's rules.

    agentkit eval cases.jsonl --model local --model openai:gpt-4o-mini --tool ./my_tools.py
    agentkit eval --bfcl simple_python --limit 100 --model local

Each model is asked every case with your real tools offered (never run); the calls are scored. Results
go to ``--out`` (default ``eval-results/NAME``): ``cases.jsonl`` and ``report.html``, and a rerun of the
same command resumes (only cases without a result run). See docs/eval.md.

Exit codes: 0 every case ran (whatever the accuracy); 1 some model calls failed (rerun to retry them);
2 usage; 3 a tool file, case file or model string is wrong, or some cases could not be read (the
others ran); 4 a model cannot be reached (checked before any case runs); 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from agentkit.cli.exit_codes import ExitCode
from agentkit.errors import ConfigurationError


def add_eval_parser(commands: Any, positive_int: Any) -> None:
    """Register ``eval`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "eval",
        help="score how well models call your tools, on your cases or BFCL's (offline, resumable)",
        description="Ask each model every case, with the tools offered but never run, and score the calls "
        "by BFCL's AST rules. Rerunning the same command resumes.",
    )
    parser.add_argument("cases", nargs="?", help="case file (JSON lines; see docs/eval.md)")
    parser.add_argument(
        "--bfcl", metavar="CATEGORIES", help="BFCL's cases: simple_python, parallel, ..., or all"
    )
    parser.add_argument("--limit", type=positive_int, help="only the first N cases (of each BFCL category)")
    parser.add_argument(
        "--model", "-m", action="append", default=[], help="model string; repeatable (default: local)"
    )
    parser.add_argument(
        "--tool",
        "-t",
        action="append",
        default=[],
        metavar="TOOL",
        help="name or file.py[:function]; repeatable",
    )
    parser.add_argument("--out", "-o", help="results directory (default: eval-results/NAME)")
    parser.add_argument(
        "--tool-choice", default="auto", help="auto (default), required, none, or a tool name"
    )
    parser.add_argument(
        "--max-tokens", type=positive_int, default=256, help="reply length per case (default 256)"
    )
    parser.add_argument("--temperature", type=float, default=0.0, help="default 0 (greedy)")
    parser.add_argument("--system", help="a system prompt sent before each case's messages")
    parser.add_argument(
        "--concurrency",
        "-c",
        type=positive_int,
        help="cases in flight per model (default: 1 in-process, 8 for a server)",
    )
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help="default: local")
    parser.add_argument("--address", help="Ray cluster address (default: a local Ray for the run)")
    parser.add_argument("--workers", type=positive_int, help="Ray actors (default: one per cluster CPU)")
    parser.add_argument("--force", action="store_true", help="discard results of a run with other settings")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks")


class EvalProgress:
    """A live line per model (rich, on a terminal): cases done, accuracy so far, calls/s, time left."""

    def __init__(self, live: bool) -> None:
        self.progress: Any = None
        self.stream = sys.stderr
        if live:
            try:
                from rich.console import Console
                from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
            except ImportError:
                return
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("[green]{task.fields[accuracy]} passed"),
                TextColumn("{task.fields[rate]} calls/s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
        self._task: Any = None
        self._passed = 0
        self._done = 0
        self._started = time.monotonic()

    def problem(self, problem: Any) -> None:
        if self.progress is not None:
            self.progress.console.print(f"[yellow]skipped[/yellow] {problem}", markup=True, highlight=False)
        else:
            self.stream.write(f"agentkit: skipped {problem}\n")

    def start_model(self, label: str, total: int) -> None:
        self._passed = self._done = 0
        self._started = time.monotonic()
        if self.progress is not None:
            if self._task is None:
                self.progress.start()
            self._task = self.progress.add_task(label, total=total, accuracy="-", rate="-")

    def result(self, result: Any) -> None:
        self._done += 1
        self._passed += bool(result.passed)
        if self.progress is not None and self._task is not None:
            elapsed = max(time.monotonic() - self._started, 1e-9)
            self.progress.update(
                self._task,
                advance=1,
                accuracy=f"{100 * self._passed / self._done:.1f}%",
                rate=f"{self._done / elapsed:.2f}",
            )

    def stop(self) -> None:
        if self.progress is not None and self._task is not None:
            self.progress.stop()


def _default_out(args: argparse.Namespace) -> str:
    name = Path(args.cases).stem if args.cases else "bfcl-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", args.bfcl)
    if args.limit:
        name += f"-first{args.limit}"
    return str(Path("eval-results") / name)


def _engine(args: argparse.Namespace) -> Any:
    if args.engine == "local":
        if args.address or args.workers:
            raise ConfigurationError("--address and --workers need --engine ray")
        return None
    from agentkit.batch.ray_engine import RayEngine

    return RayEngine(args.address, workers=args.workers)


def _cases(args: argparse.Namespace) -> Any:
    from agentkit.eval import LoadedCases, load_bfcl, load_cases

    if bool(args.cases) == bool(args.bfcl):
        raise ConfigurationError("give a case file or --bfcl CATEGORIES (one of them)")
    if args.bfcl:
        return LoadedCases(load_bfcl(args.bfcl, args.limit), [])
    if not Path(args.cases).is_file():
        raise ConfigurationError(f"case file not found: {args.cases}")
    loaded = load_cases(args.cases)
    if args.limit:
        loaded = LoadedCases(loaded.cases[: args.limit], loaded.problems, loaded.source)
    return loaded


def cmd_eval(args: argparse.Namespace) -> int:
    import asyncio

    from agentkit.cli.tool_loading import load_tools
    from agentkit.eval import EvalSettings, aevaluate

    cases = _cases(args)
    tools = load_tools(args.tool)  # a tool file that fails to import is named here, before any model runs
    settings = EvalSettings(args.tool_choice, args.max_tokens, args.temperature, args.system)
    out = args.out or _default_out(args)
    models = args.model or ["local"]
    progress = EvalProgress(live=not args.quiet and not args.json and sys.stderr.isatty())
    try:
        report = asyncio.run(
            aevaluate(
                cases, models, tools=tools, settings=settings, out_dir=out, concurrency=args.concurrency,
                engine=_engine(args), force=args.force,
                on_start=progress.start_model, on_result=progress.result,
                on_problem=progress.problem,
                title=f"agentkit eval: {args.cases or 'BFCL ' + args.bfcl}",
            )
        )  # fmt: skip
    except KeyboardInterrupt:
        progress.stop()
        sys.stderr.write("agentkit: interrupted: rerun the same command to resume\n")
        return ExitCode.INTERRUPTED
    finally:
        progress.stop()
    if args.json:
        import json

        sys.stdout.write(json.dumps(report.to_json(), indent=1) + "\n")
    else:
        sys.stdout.write(report.table() + "\n")
        sys.stdout.write(
            f"\nper-case results: {Path(out) / 'cases.jsonl'}\nreport: {Path(out) / 'report.html'}\n"
        )
    if report.problems:
        return ExitCode.CONFIGURATION
    if any(m.errors for m in report.models):
        return ExitCode.RUN_FAILED
    return ExitCode.OK

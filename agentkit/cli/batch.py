"""``agentkit batch TASKS.jsonl``: one agent over every task of a JSON-lines file, resumable.

    agentkit batch tasks.jsonl --model openai:gpt-4o-mini --tool calculator --out results.jsonl
    agentkit batch tasks.jsonl --agent my_agents.py:make_agent --engine ray --address auto

Rerunning the same command skips the tasks that have a result and resumes the interrupted ones from
the journal (``OUT.journal`` unless ``--journal`` says otherwise). See docs/batch.md.

Exit codes: 0 every line became a task and every task answered; 1 some tasks failed or were
interrupted, or some lines were skipped; 2 usage; 3 configuration (an unreachable journal database or
Ray cluster, a results file of another batch, a missing task file, a bad --agent); 130 interrupted
(rerun to resume).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.cli.exit_codes import ExitCode
from agentkit.errors import ConfigurationError

DEFAULT_CONCURRENCY = 16


def add_batch_parser(commands: Any, positive_int: Any) -> None:
    """Register ``batch`` on the CLI's subcommands."""
    batch = commands.add_parser(
        "batch",
        help="run an agent over every task of a JSON-lines file (resumable)",
        description='Each input line is {"id": ..., "prompt": ...} with optional "session" and '
        '"metadata". Rerunning the same command resumes.',
    )
    batch.add_argument("tasks", help="the task file (JSON lines)")
    batch.add_argument("--out", "-o", help="results file (JSON lines; default: TASKS.results.jsonl)")
    agent = batch.add_argument_group("the agent (either --agent, or the options that build one)")
    agent.add_argument("--agent", metavar="FILE.py:NAME", help="an Agent, or a function returning one")
    agent.add_argument("--model", "-m", help="model string (default: local)")
    agent.add_argument("--tool", "-t", action="append", default=[], metavar="TOOL", help="repeatable")
    agent.add_argument("--system", help="instructions for the model (the system prompt)")
    agent.add_argument("--max-steps", type=positive_int, help="model calls allowed per task (default 20)")
    run = batch.add_argument_group("running")
    run.add_argument("--concurrency", "-c", type=positive_int, default=DEFAULT_CONCURRENCY, help="default 16")
    run.add_argument("--engine", choices=("local", "ray"), default="local", help="default: local")
    run.add_argument("--address", help="Ray cluster address (auto, HOST:PORT, ray://...); default: local")
    run.add_argument("--workers", type=positive_int, help="Ray actors (default: one per cluster CPU)")
    run.add_argument("--journal", help="SQLite file or postgresql:// URL (default: OUT.journal)")
    run.add_argument("--no-journal", action="store_true", help="no journal: a killed batch restarts tasks")
    run.add_argument("--retries", type=positive_int, default=3, help="attempts per task (model errors)")
    run.add_argument("--batch-id", help="name the batch (default: derived from the task file and agent)")
    run.add_argument("--force", action="store_true", help="replace a results file of another batch")
    run.add_argument("--messages", action="store_true", help="write each run's messages into its result")
    run.add_argument("--durable", action="store_true", help="fsync the journal at every append")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    batch.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="tracebacks")


@dataclass(frozen=True)
class OptionsAgent:
    """An agent built from command-line options; picklable, so Ray workers build their own."""

    model: str
    tools: tuple[str, ...]
    system: str | None
    max_steps: int

    def __call__(self) -> Any:
        from agentkit.agent import Agent
        from agentkit.cli.tool_loading import load_tools

        options: dict[str, Any] = {"tools": load_tools(self.tools), "max_steps": self.max_steps}
        if self.system:
            options["system_prompt"] = self.system
        return Agent(self.model, **options)

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tools": list(self.tools),
            "system": self.system,
            "max_steps": self.max_steps,
        }


@dataclass(frozen=True)
class FileAgent:
    """``--agent FILE.py:NAME``: an Agent, or a zero-argument function returning one."""

    spec: str

    def __call__(self) -> Any:
        from agentkit.agent import Agent
        from agentkit.cli.tool_loading import _import_target

        target, sep, name = self.spec.rpartition(":")
        if not sep or not name:
            raise ConfigurationError(f"--agent {self.spec!r}: expected FILE.py:NAME or module:NAME")
        module = _import_target(target)
        value = getattr(module, name, None)
        if value is None:
            raise ConfigurationError(f"--agent {self.spec!r}: {target} has no {name!r}")
        if isinstance(value, Agent):
            return value
        if callable(value):
            return value()
        raise ConfigurationError(
            f"--agent {self.spec!r} is a {type(value).__name__}, not an Agent or a function"
        )

    def describe(self) -> dict[str, Any]:
        target, _, name = self.spec.rpartition(":")
        path = os.path.abspath(target) if target.endswith(".py") else target
        return {"agent": f"{path}:{name}"}


def agent_from_args(args: argparse.Namespace) -> OptionsAgent | FileAgent:
    if args.agent:
        given = [
            flag
            for flag, value in (
                ("--model", args.model),
                ("--tool", args.tool),
                ("--system", args.system),
                ("--max-steps", args.max_steps),
            )
            if value
        ]
        if given:
            raise ConfigurationError(f"--agent builds the whole agent: leave out {', '.join(given)}")
        agent: OptionsAgent | FileAgent = FileAgent(args.agent)
    else:
        agent = OptionsAgent(args.model or "local", tuple(args.tool), args.system, args.max_steps or 20)
    return agent


def default_out(tasks: str) -> str:
    path = Path(tasks)
    stem = path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.name
    return str(path.with_name(stem + ".results.jsonl"))


def batch_identity(
    tasks: str, agent: OptionsAgent | FileAgent, batch_id: str | None
) -> tuple[str, dict[str, Any]]:
    description = {"tasks": os.path.abspath(tasks), **agent.describe()}
    if batch_id is None:
        canonical = json.dumps(description, sort_keys=True).encode()
        batch_id = hashlib.sha256(canonical).hexdigest()[:16]
    return batch_id, description


def _engine(args: argparse.Namespace) -> Any:
    if args.engine == "local":
        if args.address or args.workers:
            raise ConfigurationError("--address and --workers need --engine ray")
        from agentkit.batch import LocalEngine

        return LocalEngine()
    from agentkit.batch.ray_engine import RayEngine

    return RayEngine(args.address, workers=args.workers)


async def _run(batch: Any, tasks: str, progress: Any) -> None:
    from agentkit.batch import read_tasks

    items = read_tasks(tasks)
    async for _ in batch.results(items):
        progress.update(batch.stats)


def cmd_batch(args: argparse.Namespace) -> int:
    from agentkit.batch import Batch
    from agentkit.batch.taskfile import count_lines
    from agentkit.cli.batch_progress import make_progress, summary_lines
    from agentkit.retry import RetryPolicy

    if not os.path.isfile(args.tasks):
        raise ConfigurationError(f"task file not found: {args.tasks}")
    if args.journal and args.no_journal:
        raise ConfigurationError("--journal and --no-journal contradict each other")
    factory = agent_from_args(args)
    built = factory()  # a bad model string, tool or --agent fails here, before anything is written
    engine = _engine(args)
    out = args.out or default_out(args.tasks)
    journal = None if args.no_journal else (args.journal or out + ".journal")
    batch_id, description = batch_identity(args.tasks, factory, args.batch_id)
    progress = make_progress(args.quiet)
    batch = Batch(
        built if args.engine == "local" else factory,  # Ray workers build their own from the factory
        concurrency=args.concurrency,
        engine=engine,
        journal=journal,
        out=out,
        batch_id=batch_id,
        description=description,
        force=args.force,
        retry=RetryPolicy(max_attempts=args.retries),
        keep_messages=args.messages,
        durable=args.durable,
        on_problem=progress.problem,
    )
    progress.start(count_lines(args.tasks))
    interrupted = False
    try:
        asyncio.run(_run(batch, args.tasks, progress))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.update(batch.stats, force=True)
        progress.stop()
    for line in summary_lines(batch.stats, out=out, journal=journal):
        progress.note(line)
    if interrupted:
        progress.note("interrupted: rerun the same command to resume")
        return ExitCode.INTERRUPTED
    stats = batch.stats
    if stats.failed or stats.interrupted or stats.malformed or stats.duplicates:
        return ExitCode.RUN_FAILED
    return ExitCode.OK

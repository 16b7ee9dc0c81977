"""Many agent runs: an agent over a stream of tasks, with bounded concurrency, results as they finish,
resumable from a journal, on this process (:class:`LocalEngine`) or a Ray cluster (``RayEngine``).

    from agentkit.batch import Batch, read_tasks

    batch = Batch(make_agent, concurrency=64, journal="runs.journal", out="results.jsonl")
    for result in batch.run(read_tasks("tasks.jsonl")):
        print(result.task_id, result.ok, result.output)

Not imported by ``import agentkit``. See docs/batch.md.
"""

from agentkit.batch.api import Batch, arun_batch, run_batch
from agentkit.batch.journal import BatchJournal, SQLiteJournal
from agentkit.batch.local import Engine, LocalEngine
from agentkit.batch.output import BatchIdentity, OutputOwnedError, read_results
from agentkit.batch.runner import AgentSource, JournalUnavailable, TaskOptions, run_task
from agentkit.batch.stats import BatchStats
from agentkit.batch.stores import open_journal
from agentkit.batch.task import BatchResult, Task, TaskError
from agentkit.batch.taskfile import TaskProblem, read_tasks, tasks_from

__all__ = [
    "AgentSource",
    "Batch",
    "BatchIdentity",
    "BatchJournal",
    "BatchResult",
    "BatchStats",
    "Engine",
    "JournalUnavailable",
    "LocalEngine",
    "OutputOwnedError",
    "SQLiteJournal",
    "Task",
    "TaskError",
    "TaskOptions",
    "TaskProblem",
    "arun_batch",
    "open_journal",
    "read_results",
    "read_tasks",
    "run_batch",
    "run_task",
    "tasks_from",
]


def __getattr__(name: str) -> object:
    if name == "RayEngine":  # Ray is an optional extra: imported only when asked for
        from agentkit.batch.ray_engine import RayEngine

        return RayEngine
    raise AttributeError(f"module 'agentkit.batch' has no attribute {name!r}")

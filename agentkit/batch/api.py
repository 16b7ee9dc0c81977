"""Running a batch: tasks in, results out as they finish, resumable from a journal and a results file.

    from agentkit.batch import Batch, Task

    batch = Batch(make_agent, concurrency=64, journal="runs.journal", out="results.jsonl")
    async for result in batch.results(read_tasks("tasks.jsonl")):
        print(result.task_id, result.output or result.error)

Order of work, chosen so that nothing is written before everything needed is reachable, and so that a
kill at any moment loses nothing: check the results file (read only) → start the engine (a Ray cluster
that is unreachable fails here) → open the journal (a PostgreSQL server that is unreachable fails here)
→ open the results file, dropping a cut last line, and write the results the journal has that the
file lacks → run the tasks that have no result yet; for each final result: journal, then output.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any

from agentkit.batch.journal import BatchJournal
from agentkit.batch.local import Engine, LocalEngine
from agentkit.batch.output import BatchIdentity, ResultsWriter, belongs_to, check_owner, scan_output
from agentkit.batch.runner import AgentSource, JournalUnavailable, TaskOptions, task_error
from agentkit.batch.stats import BatchStats
from agentkit.batch.stores import open_journal
from agentkit.batch.task import BatchResult, Task
from agentkit.batch.taskfile import TaskProblem, tasks_from
from agentkit.errors import ConfigurationError
from agentkit.retry import RetryPolicy

TaskSource = Iterable[Task | TaskProblem | Mapping[str, Any] | str]
ProblemCallback = Callable[[TaskProblem], None]


class Batch:
    """An agent (or an agent factory) over many tasks.

    Args:
        agent: an :class:`~agentkit.Agent`, or a zero-argument function that builds one (called once per
            worker: once for the local engine, once per Ray actor; it must be picklable for Ray).
        concurrency: tasks running at the same time (in all, across workers).
        engine: :class:`LocalEngine` (default) or :class:`~agentkit.batch.ray_engine.RayEngine`.
        journal: where conversations and results are journaled: an SQLite path, a
            ``postgresql://`` URL, or an open journal; ``None`` keeps conversations in memory (a killed
            batch then restarts its unfinished tasks from scratch).
        out: a results file (JSON lines) that final results are appended to; a rerun skips its tasks.
        batch_id: names the batch in the journal and in the results file's header.
        description: shown (and compared) in the results file's header, e.g. the model and task file.
        force: replace a results file that belongs to another batch instead of refusing it.
        retry: task-level retries of model and journal failures (``None``: no retries).
        keep_messages: put each run's messages in its result (and in the results file).
        on_problem: called with each input line that was skipped (malformed, duplicate).
    """

    def __init__(
        self,
        agent: AgentSource,
        *,
        concurrency: int = 16,
        engine: Engine | None = None,
        journal: str | BatchJournal | None = None,
        out: str | None = None,
        batch_id: str = "batch",
        description: Mapping[str, Any] | None = None,
        force: bool = False,
        retry: RetryPolicy | None = None,
        keep_messages: bool = False,
        durable: bool = False,
        on_problem: ProblemCallback | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError(f"concurrency must be at least 1, got {concurrency}")
        self.agent = agent
        self.concurrency = concurrency
        self.engine: Engine = engine or LocalEngine()
        self.journal_location = journal
        self.out = out
        self.identity = BatchIdentity(batch_id, dict(description or {}))
        self.force = force
        self.options = TaskOptions(
            retry=retry if retry is not None else RetryPolicy(max_attempts=3), keep_messages=keep_messages
        )
        self.durable = durable
        self.on_problem = on_problem
        self.stats = BatchStats()

    def _pending(self, source: TaskSource, done: set[str]) -> Iterator[Task]:
        """The tasks still to run: problems reported and counted, finished tasks skipped."""
        for item in tasks_from(source):
            if isinstance(item, TaskProblem):
                if item.kind == "duplicate":
                    self.stats.duplicates += 1
                else:
                    self.stats.malformed += 1
                if self.on_problem is not None:
                    self.on_problem(item)
                continue
            if item.id in done:
                self.stats.skipped += 1
                continue
            self.stats.dispatched += 1
            yield item

    def _open_journal(self) -> BatchJournal | None:
        location = self.journal_location
        if location is None or not isinstance(location, str):
            return location
        return open_journal(location, self.identity.batch_id, durable=self.durable)

    async def results(self, tasks: TaskSource) -> AsyncGenerator[BatchResult, None]:
        """Run every task without a result yet; yield each result as it finishes (final ones were
        journaled and written to ``out`` first). Tasks that stopped on a resumable error are yielded
        too, but neither recorded nor written: a rerun resumes them."""
        self.stats = BatchStats()
        scan = scan_output(self.out) if self.out is not None else None
        foreign = scan is not None and not belongs_to(scan, self.identity)
        if foreign and not self.force:
            check_owner(self.out, scan, self.identity)  # type: ignore[arg-type]
        self.engine.start()
        journal: BatchJournal | None = None
        writer: ResultsWriter | None = None
        try:
            journal = self._open_journal()
            done: set[str] = set()
            if self.out is not None and scan is not None:
                writer = ResultsWriter(
                    self.out, self.identity, scan, replace=foreign, with_messages=self.options.keep_messages
                )
                if not foreign:
                    done = scan.done
            if journal is not None:
                for result in journal.finished(skip=done):
                    done.add(result.task_id)
                    if writer is not None:
                        writer.write(result)
                        self.stats.recovered += 1
            pending = self._pending(tasks, done)
            async for result in self.engine.results(
                self.agent, pending, journal=journal, options=self.options, concurrency=self.concurrency
            ):
                if result.final and journal is not None:
                    result = _record(journal, result)
                if result.final and writer is not None:
                    writer.write(result)
                self.stats.add(result)
                yield result
        finally:
            self.stats.finish()
            try:
                if writer is not None:
                    writer.close()
            finally:
                if journal is not None and journal is not self.journal_location:
                    journal.close()
                self.engine.stop()

    def run(self, tasks: TaskSource) -> Iterator[BatchResult]:
        """:meth:`results` for synchronous code: the batch runs on a worker thread with its own event
        loop; results arrive through a bounded queue (a slow consumer holds the batch back)."""
        return _iterate_in_thread(lambda: self.results(tasks), self.concurrency)


def _record(journal: BatchJournal, result: BatchResult) -> BatchResult:
    """Journal a final result; if the journal is unreachable, the result is not final after all (it
    must not reach the output before the journal has it): the task is resumable, and a rerun finds
    its finished conversation in the journal."""
    try:
        journal.record(result)
    except JournalUnavailable as exc:
        return result.replace(error=task_error(exc, resumable=True), stop_reason="error")
    return result


async def arun_batch(agent: AgentSource, tasks: TaskSource, **options: Any) -> AsyncIterator[BatchResult]:
    """``Batch(agent, **options).results(tasks)``: results as they finish."""
    async for result in Batch(agent, **options).results(tasks):
        yield result


def run_batch(agent: AgentSource, tasks: TaskSource, **options: Any) -> Iterator[BatchResult]:
    """``Batch(agent, **options).run(tasks)``: results as they finish, for synchronous code."""
    return Batch(agent, **options).run(tasks)


_END = object()


def _iterate_in_thread(
    make: Callable[[], AsyncGenerator[BatchResult, None]], size: int
) -> Iterator[BatchResult]:
    results: queue.Queue[Any] = queue.Queue(maxsize=max(1, size))
    loop_ready = threading.Event()
    state: dict[str, Any] = {}

    async def hand_over(item: Any) -> None:
        try:
            results.put_nowait(item)
        except queue.Full:  # the consumer is behind: wait for it off the event loop
            await asyncio.to_thread(results.put, item)

    async def pump() -> None:
        state["loop"] = asyncio.get_running_loop()
        state["task"] = asyncio.current_task()
        loop_ready.set()
        try:
            async with contextlib.aclosing(make()) as items:
                async for item in items:
                    await hand_over(item)
        except asyncio.CancelledError:
            return  # the consumer stopped early
        except BaseException as exc:  # noqa: BLE001 - raised in the consuming thread
            await hand_over(exc)
            return
        await hand_over(_END)

    thread = threading.Thread(target=asyncio.run, args=(pump(),), name="agentkit-batch", daemon=True)
    thread.start()
    loop_ready.wait()
    ended = False
    try:
        while True:
            item = results.get()
            if item is _END:
                ended = True
                return
            if isinstance(item, BaseException):
                ended = True
                raise item
            yield item
    finally:
        if not ended:
            state["loop"].call_soon_threadsafe(state["task"].cancel)
            while thread.is_alive():  # drain, so that a blocked hand-over finishes and sees the cancel
                with contextlib.suppress(queue.Empty):
                    results.get(timeout=0.05)
        thread.join()

"""The step loop of one run.

A run reads as a sentence: ``events`` → (finish an interrupted step) → ``_begin_step`` → (``_windowed``)
→ ``_request`` → ``_query`` → ``_take_reply`` → ``_execute`` the calls or ``_conclude``, until a final
answer or a limit. Everything the model can fix goes back to it as a tool result or a user message; limits end
the run with a typed error that carries the partial result; a cancellation ends it with
``stop_reason="cancelled"``.

The loop does O(1) work per step apart from copying the message list into the request, so the
per-step overhead stays flat as a conversation grows (benchmarks/overhead.py). It is the only writer
of a session: every message is journaled as it is appended and every tool result the moment it
exists, so a killed run resumes without re-running finished tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from agentkit.backends.base import ModelRequest, ModelResponse, StreamChunk, TextDelta
from agentkit.call_bounds import bound_tool_calls
from agentkit.cancellation import CancellationToken
from agentkit.errors import (
    AgentkitError,
    BackendError,
    DurationLimitExceeded,
    HandoffLimitExceeded,
    MaxStepsExceeded,
    OutputRetriesExhausted,
    OutputValidationError,
    RunCancelled,
    RunLimitExceeded,
    ToolLoopDetected,
    UsageLimitExceeded,
)
from agentkit.events import (
    AgentEvent,
    FinalOutput,
    HandedOff,
    ModelResponded,
    ModelTextDelta,
    OutputRejected,
    RunFailed,
    RunStarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
)
from agentkit.messages import AssistantMessage, Message, SystemMessage, ToolCall, ToolMessage, Usage
from agentkit.output import output_retry_message
from agentkit.result import RunResult, StopReason
from agentkit.run_context import RunContext
from agentkit.run_spec import HandoffTarget, RunSpec
from agentkit.run_start import StartPlan
from agentkit.run_tree import RunTree
from agentkit.tool_result import ToolResult

if TYPE_CHECKING:
    from agentkit.context.manager import ContextWindow
    from agentkit.sessions.base import Session

T = TypeVar("T")

CANCELLED_RESULT = "Cancelled before it finished."
"""The tool message of a call the run stopped waiting for (every call keeps exactly one result)."""


def _fingerprint(call: ToolCall) -> str:
    # Unparseable calls all have arguments {}: what the model wrote tells them apart.
    arguments = call.raw_arguments or json.dumps(call.arguments, sort_keys=True, default=str)
    return call.name + "\x00" + arguments


class RunLoop:
    """State and steps of a single run. Create one per run; iterate :meth:`events` once."""

    def __init__(
        self,
        spec: RunSpec,
        start: StartPlan,
        *,
        deps: Any = None,
        cancel: CancellationToken | None = None,
        streaming: bool = False,
        session: Session | None = None,
        tree: RunTree | None = None,
        path: str | None = None,
        parent: tuple[str, str] | None = None,
        active: tuple[HandoffTarget, int] | None = None,
    ) -> None:
        self.spec = spec
        self.messages = start.messages
        self.tree = tree if tree is not None else RunTree()
        self.path = path if path is not None else spec.name
        """The agent now running, and those above it: where its events and usage are filed."""
        self._parent = parent
        self._paths = [self.path]
        self._usage_mark = Usage()
        """``usage`` when the current agent took over (a handoff files what came before)."""
        self._handoffs = 0
        self._max_handoffs = spec.limits.max_handoffs
        """The starting agent's cap: it holds for the whole run, whoever has the conversation."""
        self._transfer: ToolCall | None = None
        self._seen: list[Message] | None = None
        """The history as the current agent sees it, after a handoff (else the history itself)."""
        self._parked: dict[str, tuple[list[Message], ContextWindow | None]] = {}
        """Per agent that handed the conversation on: what it saw and its window, so that taking the
        conversation back counts only what is new (a ping-pong of handoffs stays linear)."""
        self.streaming = streaming
        self.run_id = uuid.uuid4().hex
        self.usage = Usage()
        self.step = 0
        self.context: RunContext[Any] = RunContext(
            deps=deps,
            run_id=self.run_id,
            messages=self.messages,
            path=self.path,
            session=session,
            tree=self.tree,
        )
        self.cancel: CancellationToken | None = None
        """The run's own token, derived from the caller's (and fired by ``max_duration``)."""
        self._caller_cancel = cancel
        self._new = start.new
        self._resume = start.pending
        self._session = session
        self._failures: dict[str, int] = {}
        self._output_retries = 0
        self._semaphore = asyncio.Semaphore(spec.max_parallel_tools)
        # Events that tools hand to the run while they work (progress, a child agent's steps), waiting to
        # be yielded: kept only while someone watches the run.
        self._side: deque[tuple[ToolCall, AgentEvent]] | None = deque() if streaming else None
        self._side_ready: asyncio.Event | None = None
        self._owner: tuple[asyncio.AbstractEventLoop, int] | None = None
        self._contextual = frozenset(tool.name for tool in spec.registry if tool.takes_context)
        """Tools that get a context of their own per call (and may hand events to the run)."""
        self._window: ContextWindow | None = self._new_window(spec)
        self._call_ids = {
            c.id for m in self.messages if isinstance(m, AssistantMessage) for c in m.tool_calls
        }
        """Every tool-call id in the history: a reply that reuses one gets a fresh id."""
        if active is not None:  # resumed after a handoff: the agent that took over goes on
            target, transfer_result = active
            self._take_over(target, transfer_result)

    # -- the run ---------------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[AgentEvent]:
        """Run to the end, yielding events; raise the run's error after yielding ``RunFailed``."""
        deadline = self._arm_cancellation()
        if self._side is not None:
            self._owner = (asyncio.get_running_loop(), threading.get_ident())
            self._side_ready = asyncio.Event()
        parent_run, parent_call = self._parent or ("", "")
        backend = self.spec.backend
        yield RunStarted(
            self.run_id,
            tuple(self.messages),
            tuple(self.spec.registry.names),
            self.path,
            parent_run,
            parent_call,
            backend.model,
            backend.provider,
        )
        try:
            for message in self._new:
                self._journal(message)
            async for event in self._run():
                yield event
        except RunCancelled:
            if self.cancel is not None and self.cancel.reason == "max_duration":
                error = DurationLimitExceeded(
                    f"the run took longer than max_duration={self.spec.limits.max_duration:g} s; "
                    "what was in flight was cancelled",
                    self._result("max_duration"),
                )
                yield RunFailed(error, error.result, self.path)
                raise error from None
            yield FinalOutput(None, self._result("cancelled"), self.path)
        except RunLimitExceeded as exc:
            yield RunFailed(exc, exc.result, self.path)
            raise
        except Exception as exc:
            yield RunFailed(exc, self._result("error"), self.path)
            raise
        finally:
            self.tree.record(self.path, self.usage - self._usage_mark)
            if deadline is not None:
                deadline.cancel()
            if self.cancel is not None:
                self.cancel.release()

    async def _run(self) -> AsyncIterator[AgentEvent]:
        if self._resume is not None:  # a killed run's last step: finish its calls first
            calls, done = self._resume
            self._resume = None
            async for event in self._execute_actions(calls, done):
                yield event
            if self._transfer is not None:
                yield self._hand_off()
        while True:
            self._begin_step()
            yield StepStarted(self.step, self.path)
            seen = self.messages if self._seen is None else self._seen
            history = tuple(seen) if self._window is None else await self._windowed(seen)
            request = self._request(history)
            started = time.perf_counter()
            if self.streaming:
                response: ModelResponse | None = None
                async for chunk in self._stream(request):
                    if isinstance(chunk, TextDelta):
                        yield ModelTextDelta(self.step, chunk.text, self.path)
                    else:
                        response = chunk
                if response is None:
                    raise BackendError(f"backend {self.spec.backend.name} ended a stream without a response")
            else:
                try:
                    response = await self._query(request)
                except (AgentkitError, asyncio.CancelledError):
                    raise
                except Exception as exc:  # the backend's own exception: a documented error instead
                    raise self._backend_failed(exc) from exc
            message = self._take_reply(response)
            yield ModelResponded(self.step, message, response.usage, time.perf_counter() - started, self.path)
            calls = message.tool_calls
            if len(calls) == 1 and not self._watched(calls[0]):  # the common case: no nested generator
                call = calls[0]
                yield ToolCallStarted(self.step, call, self.path)
                started, result = time.perf_counter(), None
                try:
                    result = await self._guard(self._execute(call, limit=False))
                finally:
                    self._record(calls, (result,))  # a result even when the run stops here
                yield ToolCallFinished(self.step, call, result, time.perf_counter() - started, self.path)
                self._check_loop((result,))
            elif calls:
                async for event in self._execute_actions(calls):
                    yield event
            else:
                event = self._conclude(message)
                yield event
                if isinstance(event, FinalOutput):
                    return
                continue
            if self._transfer is not None:
                yield self._hand_off()

    # -- one step --------------------------------------------------------------------------------

    def _begin_step(self) -> None:
        """Stop at a limit or a cancellation, else count the step."""
        limits = self.spec.limits
        if self.step >= limits.max_steps:
            raise MaxStepsExceeded(
                f"the run reached max_steps={limits.max_steps} without a final answer; "
                "raise max_steps or simplify the task",
                self._result("max_steps"),
            )
        limit = limits.max_total_tokens
        if limit is not None and self.usage.total_tokens >= limit:
            raise UsageLimitExceeded(
                f"the run used {self.usage.total_tokens} tokens, reaching max_total_tokens={limit}",
                self._result("usage_limit"),
            )
        if self.cancel is not None:
            self.cancel.check()
        if self.tree.budget is not None:
            self._check_budget()
        self.step += 1
        self.context.step = self.step

    async def _windowed(self, history: list[Message]) -> Sequence[Message]:
        """The history as the context window lets the next request see it (and what summaries cost)."""
        assert self._window is not None
        messages = await self._window.build(history)
        self.usage = self._window.charge(self.usage)
        return messages

    def _request(self, messages: Sequence[Message]) -> ModelRequest:
        """The next request: ``messages``, the tools, and the settings, with ``max_tokens`` capped to
        what ``max_total_tokens`` leaves."""
        spec = self.spec
        tools = spec.registry.specs()
        settings = spec.settings
        if spec.limits.max_total_tokens is not None:
            settings = self._capped_settings(messages, tools)
        return ModelRequest(
            messages=messages,
            tools=tools,
            tool_choice=spec.tool_choice,
            output_schema=spec.output.schema,
            settings=settings,
        )

    def _capped_settings(self, messages: Sequence[Message], tools: Sequence[Any]) -> Any:
        """The settings with a reply no longer than the token budget has left after the prompt.

        With an exact counter (the model's own tokenizer, OpenAI's encodings) a request whose prompt
        alone would use up the budget is not sent; an estimating counter errs high, so its requests
        are sent with the shortest reply and the run stops at the next step's check instead.
        """
        from agentkit.backends.counting import count_prompt

        spec = self.spec
        limit = spec.limits.max_total_tokens or 0
        if self._window is not None:
            counter = self._window.counter
            prompt = int(self._window.last_tokens * counter.scale)
        else:
            counter = spec.backend.token_counter()
            prompt = count_prompt(counter, messages, tools)
        left = limit - self.usage.total_tokens - prompt
        if left < 1 and counter.exact:
            raise UsageLimitExceeded(
                f"the next request alone needs {prompt} tokens, and the run has "
                f"{limit - self.usage.total_tokens} of max_total_tokens={limit} left; it was not sent",
                self._result("usage_limit"),
            )
        left = max(left, 1)
        wanted = spec.settings.max_tokens
        if wanted is not None and wanted <= left:
            return spec.settings
        return dataclasses.replace(spec.settings, max_tokens=left)

    def _query(self, request: ModelRequest) -> Awaitable[ModelResponse]:
        """One model call, raced against the run's cancellation (an awaitable: no frame of its own)."""
        return self._guard(self.spec.backend.complete(request))

    async def _stream(self, request: ModelRequest) -> AsyncIterator[StreamChunk]:
        """One streamed model call, checked for cancellation after every chunk."""
        try:
            async for chunk in self.spec.backend.stream(request):
                yield chunk
                if self.cancel is not None:
                    self.cancel.check()
        except (AgentkitError, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise self._backend_failed(exc) from exc

    def _take_reply(self, response: ModelResponse) -> AssistantMessage:
        """Account for the reply and append it to the conversation."""
        if self.tree.budget is not None:
            self.tree.charge(response.usage)
        self.usage = self.usage + response.usage
        self.context.usage = self.usage
        if self._window is not None:
            self._window.observe(response.usage)
        message = bound_tool_calls(response.message, self._window, self._call_ids)  # before the history
        self._append(message)
        return message

    def _conclude(self, message: AssistantMessage) -> FinalOutput | OutputRejected:
        """A reply without tool calls: the final answer, or (invalid for ``output_type``) a retry."""
        output = self.spec.output
        try:
            value = output.parse(message.content)
        except OutputValidationError as exc:
            self._output_retries += 1
            if self._output_retries > self.spec.limits.output_retries:
                raise OutputRetriesExhausted(
                    f"the final answer failed validation {self._output_retries} times: {exc.message}",
                    self._result("output_retries", text=message.content),
                ) from exc
            self._append(output_retry_message(exc.message, output.schema))
            return OutputRejected(self.step, exc.message, self.path)
        return FinalOutput(value, self._result("final_answer", value, message.content), self.path)

    # -- tools -----------------------------------------------------------------------------------

    async def _execute_actions(
        self, calls: Sequence[ToolCall], done: Mapping[str, ToolMessage] | None = None
    ) -> AsyncIterator[AgentEvent]:
        """Run ``calls`` (except those with a result in ``done``) concurrently; append every result in
        call order."""
        results: list[ToolResult | None] = [None] * len(calls)
        todo = calls
        if done:
            for i, call in enumerate(calls):
                found = done.get(call.id)
                if found is not None:
                    results[i] = ToolResult(call, found.content, is_error=found.is_error)
            todo = [call for call, result in zip(calls, results, strict=True) if result is None]
        for call in todo:
            yield ToolCallStarted(self.step, call, self.path)
        try:
            if todo:
                started = time.perf_counter()
                index_of = {id(call): i for i, call in enumerate(calls)}
                tasks = [asyncio.ensure_future(self._execute(call)) for call in todo]
                watched = {id(call) for call in todo if self._watched(call)}
                try:
                    for next_done in asyncio.as_completed(tasks):
                        if watched:  # yield what the running tools report while waiting for the next
                            waiting = asyncio.ensure_future(next_done)
                            try:
                                async for event in self._side_events_until(waiting, watched):
                                    yield event
                            finally:
                                waiting.cancel()  # only when the run stops early; else it is done
                            next_done = waiting
                        result = await self._guard(next_done)
                        watched.discard(id(result.call))
                        results[index_of[id(result.call)]] = result
                        yield ToolCallFinished(
                            self.step, result.call, result, time.perf_counter() - started, self.path
                        )
                finally:
                    for task in tasks:
                        task.cancel()
        finally:
            self._record(calls, results)
        self._check_loop(results)

    async def _execute(self, call: ToolCall, *, limit: bool = True) -> ToolResult:
        """Run one call; ``limit`` takes a slot of the parallel-tools semaphore (a lone call needs none)."""
        spec = self.spec
        if call.name in spec.handoffs and not self._claim_transfer(call):
            return ToolResult(
                call,
                "Only one transfer per reply: the conversation goes to the first one; this one was not made.",
                is_error=True,
            )
        context = self.context
        if call.name in self._contextual:
            context = dataclasses.replace(
                context,
                call=call,
                emit=self._sink(call) if self._side is not None else None,
                cancel=self.cancel,
            )
        execution = spec.registry.execute(
            call, context, default_timeout=spec.tool_timeout, approve=spec.approve
        )
        if limit:
            async with self._semaphore:
                result = await execution
        else:
            result = await execution
        if result.is_error:
            if self._transfer is call:
                self._transfer = None  # a refused transfer hands nothing over
            result = self._count_failure(result)
        if self._session is not None:
            self._session.append(result.to_message())
        return result

    def _watched(self, call: ToolCall) -> bool:
        """Whether ``call`` may hand events to the run while it works, and someone watches: its tool
        takes the run context, and the run is streamed."""
        return self._side is not None and call.name in self._contextual

    def _sink(self, call: ToolCall) -> Any:
        """``RunContext.emit`` for one call: its events are queued for :meth:`_side_events_until`, through
        the event loop when they come from a sync tool's thread."""

        def emit(event: AgentEvent) -> None:
            owner = self._owner
            if owner is None:
                return
            loop, thread = owner
            if threading.get_ident() == thread:
                self._queue(call, event)
            else:
                with contextlib.suppress(RuntimeError):  # the run's loop is closed: an abandoned tool
                    loop.call_soon_threadsafe(self._queue, call, event)

        return emit

    def _queue(self, call: ToolCall, event: AgentEvent) -> None:
        if self._side is not None and self._side_ready is not None:
            self._side.append((call, event))
            self._side_ready.set()

    async def _side_events_until(
        self, waiting: asyncio.Future[Any], watched: set[int]
    ) -> AsyncIterator[AgentEvent]:
        """Yield the events of the calls in ``watched`` (by id) until ``waiting`` is done; events of calls
        no longer running (a tool abandoned at its timeout) are dropped."""
        queue, ready = self._side, self._side_ready
        assert queue is not None and ready is not None
        while True:
            while queue:
                call, event = queue.popleft()
                if id(call) in watched:
                    yield event
            if waiting.done():
                return
            if self.cancel is not None:
                self.cancel.check()  # before the wait below, which a fired token would leave unawaited
            ready.clear()
            wakeup = asyncio.ensure_future(ready.wait())
            try:
                await self._guard(asyncio.wait((waiting, wakeup), return_when=asyncio.FIRST_COMPLETED))
            finally:
                wakeup.cancel()

    def _count_failure(self, result: ToolResult) -> ToolResult:
        key = _fingerprint(result.call)
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        if count == 1:
            return result
        note = (
            f"\n(This exact call has now failed {count} times. Change the arguments, use another "
            "tool, or answer without it.)"
        )
        return ToolResult(result.call, result.content + note, is_error=True, error=result.error)

    def _record(self, calls: Sequence[ToolCall], results: Sequence[ToolResult | None]) -> None:
        """Append every call's result in call order, even when the run is cancelled, so the
        conversation stays valid. Results were journaled as they came (in ``_execute``); placeholders
        are journaled here."""
        for call, result in zip(calls, results, strict=True):
            if result is None:
                if self._transfer is call:
                    self._transfer = None
                self._append(
                    ToolMessage(tool_call_id=call.id, name=call.name, content=CANCELLED_RESULT, is_error=True)
                )
            else:
                message = result.to_message()
                self.messages.append(message)
                if self._seen is not None:
                    self._seen.append(message)

    def _check_loop(self, results: Sequence[ToolResult | None]) -> None:
        limit = self.spec.limits.max_repeated_failures
        for result in results:
            if (
                result is not None
                and result.is_error
                and self._failures.get(_fingerprint(result.call), 0) > limit
            ):
                raise ToolLoopDetected(
                    f"the model repeated the failing call '{result.call.name}' more than {limit} times; "
                    f"last error: {result.content.splitlines()[0] if result.content else ''}",
                    self._result("tool_loop"),
                )

    # -- plumbing --------------------------------------------------------------------------------

    def _arm_cancellation(self) -> asyncio.TimerHandle | None:
        """The run's own token: derived from the caller's, fired by ``max_duration``. Without either,
        there is none, and awaits are not raced at all."""
        seconds = self.spec.limits.max_duration
        if self._caller_cancel is None and seconds is None:
            return None
        self.cancel = self._caller_cancel.child() if self._caller_cancel is not None else CancellationToken()
        if seconds is None:
            return None
        return asyncio.get_running_loop().call_later(seconds, self.cancel.cancel, "max_duration")

    def _guard(self, awaitable: Awaitable[T]) -> Awaitable[T]:
        """``awaitable``, raced against the run's token when there is one (no extra frame when not)."""
        return self.cancel.race(awaitable) if self.cancel is not None else awaitable

    def _backend_failed(self, exc: Exception) -> BackendError:
        return BackendError(
            f"backend {self.spec.backend.name} failed unexpectedly: {type(exc).__name__}: {exc}"
        )

    def _append(self, message: Message) -> None:
        self.messages.append(message)
        if self._seen is not None:
            self._seen.append(message)
        self._journal(message)

    def _journal(self, message: Message) -> None:
        if self._session is not None:
            self._session.append(message)

    def _result(self, stop_reason: StopReason, output: Any = None, text: str | None = None) -> RunResult[Any]:
        usage, by_agent = self._usage_report()
        return RunResult(
            output=output,
            messages=list(self.messages),
            usage=usage,
            steps=self.step,
            stop_reason=stop_reason,
            run_id=self.run_id,
            text=text,
            agent=self.spec.name,
            usage_by_agent=by_agent,
        )

    def _usage_report(self) -> tuple[Usage, dict[str, Usage]]:
        """The usage of this run and every run it started (children, earlier agents of a handoff), and
        per agent. A run that started none reports its own usage as it is."""
        current = self.usage - self._usage_mark
        by_agent = self.tree.usage_by_agent()
        by_agent[self.path] = by_agent[self.path] + current if self.path in by_agent else current
        if len(by_agent) == 1:
            return self.usage, by_agent
        mine = [(p, p + "/") for p in self._paths]
        total = Usage()
        for key, usage in by_agent.items():
            if any(key == p or key.startswith(below) for p, below in mine):
                total = total + usage
        return total, by_agent

    # -- several agents --------------------------------------------------------------------------

    def _check_budget(self) -> None:
        """Stop when the tree's shared budget (over this run and every agent it involved) is spent."""
        budget, tree = self.tree.budget, self.tree
        assert budget is not None
        if budget.max_steps is not None and tree.steps >= budget.max_steps:
            raise MaxStepsExceeded(
                f"the agents of this run made {tree.steps} model calls, reaching the budget's "
                f"max_steps={budget.max_steps}",
                self._result("max_steps"),
            )
        if budget.max_total_tokens is not None and tree.tokens >= budget.max_total_tokens:
            raise UsageLimitExceeded(
                f"the agents of this run used {tree.tokens} tokens, reaching the budget's "
                f"max_total_tokens={budget.max_total_tokens}",
                self._result("usage_limit"),
            )

    def _claim_transfer(self, call: ToolCall) -> bool:
        """The first transfer call of a step hands the conversation over; a second one is refused."""
        if self._transfer is not None and self._transfer is not call:
            return False
        self._transfer = call
        return True

    def _hand_off(self) -> HandedOff:
        """Pass the conversation to the agent the step's transfer call named (its result is recorded)."""
        call, self._transfer = self._transfer, None
        assert call is not None
        target = self.spec.handoffs[call.name]
        self._handoffs += 1
        if self._handoffs > self._max_handoffs:
            raise HandoffLimitExceeded(
                f"the agents handed the conversation to each other more than "
                f"max_handoffs={self._max_handoffs} times (last to '{target.name}'); "
                "give them clearer descriptions, or raise max_handoffs",
                self._result("max_handoffs"),
            )
        source = self.path
        self.tree.record(source, self.usage - self._usage_mark)
        self._usage_mark = self.usage
        self._take_over(target, len(self.messages))
        backend = self.spec.backend
        return HandedOff(self.step, source, self.path, self.path, backend.model, backend.provider)

    def _take_over(self, target: HandoffTarget, upto: int) -> None:
        """Make ``target`` the running agent: its spec, its system prompt first in what it sees, and
        the history up to ``upto`` through its input filter (what comes after it sees whole)."""
        spec = target.spec()
        self.spec = spec
        self._parked[self.path] = (self.messages if self._seen is None else self._seen, self._window)
        parent = self.path.rpartition("/")[0]
        self.path = f"{parent}/{target.name}" if parent else target.name
        self._paths.append(self.path)
        self.context.path = self.path
        before = self.messages[1:upto]
        if target.input_filter is not None:
            before = list(target.input_filter(before))
        seen_before, window = self._parked.pop(self.path, (None, None))
        system = SystemMessage(content=target.system_prompt)
        if seen_before and seen_before[0] == system:
            system = seen_before[0]  # the same object, so the window's first view still matches
        self._seen = [system, *before, *self.messages[upto:]]
        self._contextual = frozenset(tool.name for tool in spec.registry if tool.takes_context)
        self._semaphore = asyncio.Semaphore(spec.max_parallel_tools)
        if window is None or seen_before is None or not _extends(self._seen, seen_before, window):
            window = self._new_window(spec)
        self._window = window

    @staticmethod
    def _new_window(spec: RunSpec) -> ContextWindow | None:
        if spec.context is None:
            return None
        from agentkit.context.manager import ContextWindow

        return ContextWindow(spec.context, spec.backend, spec.registry.specs(), spec.settings)


def _extends(seen: list[Message], before: list[Message], window: ContextWindow) -> bool:
    """Whether ``seen`` starts with what ``window`` has already taken in of ``before`` (the very same
    message objects): only then may the window go on from where it was instead of counting anew."""
    taken = window.taken
    if len(seen) < taken or len(before) < taken:
        return False
    return all(seen[i] is before[i] for i in range(taken))

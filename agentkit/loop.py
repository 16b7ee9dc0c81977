"""The step loop of one agent run.

Each step sends the conversation to the backend, appends the reply, and either finishes (a reply
without tool calls that passes ``output_type``) or runs the reply's tool calls concurrently (capped by a
semaphore), appending their results in call order. Everything the model can fix goes back to it as a
tool result or a user message; limits end the run with a typed error that carries the partial result.

The loop does O(1) work per step apart from copying the message list into the request, so the
per-step overhead stays flat as a conversation grows (see benchmarks/overhead.py).

Two optional hooks, each one attribute test per use when unused: a ``window``
(:class:`agentkit.context.ContextWindow`) builds each request within the token budget instead of the
whole history, and a ``journal`` (:class:`agentkit.sessions.Session`) records every message as it is
appended and every tool result the moment it exists, so a killed run resumes without re-running
finished tools (``resume`` carries the interrupted step's calls and the results already journaled).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentkit.backends.base import ModelRequest, ModelResponse, TextDelta
from agentkit.call_bounds import bound_tool_calls
from agentkit.cancellation import CancellationToken, RunCancelled
from agentkit.errors import (
    MaxStepsExceeded,
    OutputRetriesExhausted,
    OutputValidationError,
    RunLimitExceeded,
    ToolLoopDetected,
    UsageLimitExceeded,
)
from agentkit.events import (
    AgentEvent,
    FinalOutput,
    ModelResponded,
    ModelTextDelta,
    OutputRejected,
    RunFailed,
    RunStarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
)
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage, Usage, UserMessage
from agentkit.registry import ToolRegistry, ToolResult
from agentkit.result import RunResult, StopReason
from agentkit.run_context import RunContext
from agentkit.templates import render

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.context.manager import ContextWindow
    from agentkit.sessions.base import Session

PendingCalls = tuple[Sequence[ToolCall], Mapping[str, ToolMessage]]
"""An interrupted step: its calls in order, and the results already journaled, by call id."""


def _fingerprint(call: ToolCall) -> str:
    # Unparseable calls all have arguments {}: what the model wrote tells them apart.
    arguments = call.raw_arguments or json.dumps(call.arguments, sort_keys=True, default=str)
    return call.name + "\x00" + arguments


class RunLoop:
    """State and steps of a single run. Create one per run; iterate :meth:`events` once."""

    def __init__(
        self,
        agent: Agent[Any, Any],
        messages: list[Message],
        *,
        deps: Any,
        cancel: CancellationToken | None,
        streaming: bool,
        registry: ToolRegistry | None = None,
        window: ContextWindow | None = None,
        journal: Session | None = None,
        resume: PendingCalls | None = None,
    ) -> None:
        self.agent = agent
        # The agent's registry, or a per-run one that adds the tools of opened toolsets.
        self.registry = registry if registry is not None else agent.registry
        self.messages = messages
        self.cancel = cancel
        self.streaming = streaming
        self.run_id = uuid.uuid4().hex
        self.usage = Usage()
        self.step = 0
        self.context: RunContext[Any] = RunContext(deps=deps, run_id=self.run_id, messages=messages)
        self._failures: dict[str, int] = {}
        self._output_retries = 0
        self._semaphore = asyncio.Semaphore(agent.max_parallel_tools)
        self._window = window
        self._journal = journal
        self._resume = resume
        self._call_ids = {c.id for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls}

    def _append(self, message: Message) -> None:
        self.messages.append(message)
        if self._journal is not None:
            self._journal.append(message)

    def _result(self, stop_reason: StopReason, output: Any = None, text: str | None = None) -> RunResult[Any]:
        return RunResult(
            output=output,
            messages=list(self.messages),
            usage=self.usage,
            steps=self.step,
            stop_reason=stop_reason,
            run_id=self.run_id,
            text=text,
        )

    def _guard(self, awaitable: Any) -> Any:
        """``awaitable``, raced against the cancellation token when there is one (no extra frame when not)."""
        return self.cancel.race(awaitable) if self.cancel is not None else awaitable

    async def events(self) -> AsyncIterator[AgentEvent]:
        """Run to the end, yielding events; raise the run's error after yielding ``RunFailed``."""
        yield RunStarted(self.run_id, tuple(self.messages))
        try:
            async for event in self._steps():
                yield event
        except RunCancelled:
            result = self._result("cancelled")
            yield FinalOutput(None, result)
        except RunLimitExceeded as exc:
            yield RunFailed(exc, exc.result)
            raise
        except Exception as exc:
            yield RunFailed(exc, self._result("error"))
            raise

    async def _steps(self) -> AsyncIterator[AgentEvent]:
        agent = self.agent
        if self._resume is not None:
            calls, done = self._resume
            self._resume = None
            async for event in self._run_tools(calls, done):
                yield event
        while True:
            if self.step >= agent.max_steps:
                raise MaxStepsExceeded(
                    f"the run reached max_steps={agent.max_steps} without a final answer; "
                    "raise max_steps or simplify the task",
                    self._result("max_steps"),
                )
            limit = agent.max_total_tokens
            if limit is not None and self.usage.total_tokens >= limit:
                raise UsageLimitExceeded(
                    f"the run used {self.usage.total_tokens} tokens, reaching max_total_tokens={limit}",
                    self._result("usage_limit"),
                )
            if self.cancel is not None:
                self.cancel.check()
            self.step += 1
            self.context.step = self.step
            yield StepStarted(self.step)

            if self._window is None:
                messages: Sequence[Message] = tuple(self.messages)
            else:
                messages = await self._window.build(self.messages)
                self.usage = self._window.charge(self.usage)
            request = ModelRequest(
                messages=messages,
                tools=self.registry.specs(),
                tool_choice=agent.tool_choice,
                output_schema=agent.output.schema,
                settings=agent.settings,
            )
            started = time.perf_counter()
            response: ModelResponse | None = None
            if self.streaming:
                async for chunk in agent.backend.stream(request):
                    if isinstance(chunk, TextDelta):
                        yield ModelTextDelta(self.step, chunk.text)
                    else:
                        response = chunk
                    if self.cancel is not None:
                        self.cancel.check()
                if response is None:
                    raise RuntimeError(f"backend {agent.backend.name} ended a stream without a response")
            else:
                response = await self._guard(agent.backend.complete(request))
            self.usage = self.usage + response.usage
            self.context.usage = self.usage
            if self._window is not None:
                self._window.observe(response.usage)
            message = bound_tool_calls(response.message, self._window, self._call_ids)  # before the history
            self._append(message)
            yield ModelResponded(self.step, message, response.usage, time.perf_counter() - started)

            if len(message.tool_calls) == 1:  # the common case, without a nested generator
                only = message.tool_calls[0]
                yield ToolCallStarted(self.step, only)
                results: list[ToolResult | None] = [None]
                try:
                    started = time.perf_counter()
                    result = results[0] = await self._guard(self._execute(only, limit=False))
                    yield ToolCallFinished(self.step, only, result, time.perf_counter() - started)
                finally:
                    self._record(message.tool_calls, results)
                self._check_loop(results)
                continue
            if message.tool_calls:
                async for event in self._run_tools(message.tool_calls):
                    yield event
                continue

            try:
                output = agent.output.parse(message.content)
            except OutputValidationError as exc:
                self._output_retries += 1
                if self._output_retries > agent.output_retries:
                    raise OutputRetriesExhausted(
                        f"the final answer failed validation {self._output_retries} times: {exc.message}",
                        self._result("output_retries", text=message.content),
                    ) from exc
                self._append(
                    UserMessage(
                        content=render(
                            "output_retry.jinja", error=exc.message, output_schema=agent.output.schema
                        )
                    )
                )
                yield OutputRejected(self.step, exc.message)
                continue
            yield FinalOutput(output, self._result("final_answer", output, message.content))
            return

    async def _run_tools(
        self, calls: Sequence[ToolCall], done: Mapping[str, ToolMessage] | None = None
    ) -> AsyncIterator[AgentEvent]:
        """Run ``calls`` (except those with a result in ``done``) concurrently and append every result in
        call order. A step with a single call runs it in ``_steps`` itself, one generator layer less."""
        results: list[ToolResult | None] = [None] * len(calls)
        todo = calls
        if done:
            for i, call in enumerate(calls):
                found = done.get(call.id)
                if found is not None:
                    results[i] = ToolResult(call, found.content, is_error=found.is_error)
            todo = [call for call, result in zip(calls, results, strict=True) if result is None]
        for call in todo:
            yield ToolCallStarted(self.step, call)
        try:
            if todo:
                started = time.perf_counter()
                index_of = {id(call): i for i, call in enumerate(calls)}
                tasks = [asyncio.ensure_future(self._execute(call)) for call in todo]
                try:
                    for next_done in asyncio.as_completed(tasks):
                        result = await self._guard(next_done)
                        results[index_of[id(result.call)]] = result
                        yield ToolCallFinished(self.step, result.call, result, time.perf_counter() - started)
                finally:
                    for task in tasks:
                        task.cancel()
        finally:
            self._record(calls, results)
        self._check_loop(results)

    def _record(self, calls: Sequence[ToolCall], results: Sequence[ToolResult | None]) -> None:
        """Append every call's result in call order, even when the run is cancelled, so the
        conversation stays valid. Results were journaled as they came (in _execute); placeholders
        are journaled here."""
        for call, result in zip(calls, results, strict=True):
            if result is None:
                self._append(
                    ToolMessage(
                        tool_call_id=call.id,
                        name=call.name,
                        content="Cancelled before it finished.",
                        is_error=True,
                    )
                )
            else:
                self.messages.append(result.to_message())

    async def _execute(self, call: ToolCall, *, limit: bool = True) -> ToolResult:
        """Run one call; ``limit`` takes a slot of the parallel-tools semaphore (a lone call needs none)."""
        agent = self.agent
        execution = self.registry.execute(
            call, self.context, default_timeout=agent.tool_timeout, approve=agent.approve
        )
        if limit:
            async with self._semaphore:
                result = await execution
        else:
            result = await execution
        if result.is_error:
            key = _fingerprint(call)
            count = self._failures.get(key, 0) + 1
            self._failures[key] = count
            if count > 1:
                note = (
                    f"\n(This exact call has now failed {count} times. Change the arguments, use another "
                    "tool, or answer without it.)"
                )
                result = ToolResult(call, result.content + note, is_error=True, error=result.error)
        if self._journal is not None:
            self._journal.append(result.to_message())
        return result

    def _check_loop(self, results: Sequence[ToolResult | None]) -> None:
        limit = self.agent.max_repeated_failures
        for result in results:
            if (
                result is not None
                and result.is_error
                and self._failures.get(_fingerprint(result.call), 0) > limit
            ):
                raise ToolLoopDetected(
                    f"the model repeated the failing call '{result.call.name}' more than {limit} times; "
                    f"last error: {result.content.splitlines()[0]}",
                    self._result("tool_loop"),
                )

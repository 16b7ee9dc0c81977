"""The Agent: configuration, and the ways to run it (``run``, ``arun``, ``run_stream``, ``iter``).

Every way to run goes through one set-up (:meth:`Agent._events`): hold the session's lease, find
where the conversation starts, open the toolsets, let the backend load, then iterate the loop's
events. They differ only in how the events reach the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from agentkit.backends import Backend, ModelSettings, ToolChoice, resolve_backend
from agentkit.cancellation import CancellationToken
from agentkit.errors import ConfigurationError, OutputValidationError
from agentkit.events import AgentEvent, FinalOutput, RunStarted
from agentkit.messages import Message, Usage
from agentkit.output import OutputSpec, output_retry_message
from agentkit.registry import ApprovalCallback, ToolRegistry
from agentkit.result import RunResult
from agentkit.run_spec import RunLimits, RunSpec, check_positive
from agentkit.run_start import plan_start
from agentkit.templates import render
from agentkit.tool import ToolLike
from agentkit.toolset import Toolset, open_toolsets

if TYPE_CHECKING:
    from agentkit.context.config import ContextConfig
    from agentkit.run_start import StartPlan
    from agentkit.sessions.base import Session

OutputT = TypeVar("OutputT")
DepsT = TypeVar("DepsT")

EventCallback = Callable[[AgentEvent], object]
"""Called with every event of a run, as it happens (``run(..., on_event=print)``)."""


class Agent(Generic[OutputT, DepsT]):
    """An LLM agent that calls tools.

    Args:
        model: a backend, or a model string (``openai:MODEL[@BASE_URL]``, ``hf:REPO_OR_DIR``,
            ``gguf:PATH``, ``local``).
        tools: tools or typed functions, or a ready :class:`ToolRegistry`.
        system_prompt: instructions for the model; the default comes from prompts/system.jinja.
        output_type: the type of the final answer (``str``, or a pydantic model / any type pydantic
            validates); the model's last reply is parsed and validated as JSON when it is not ``str``.
        max_steps: model calls allowed before the run stops with :class:`MaxStepsExceeded`.
        max_total_tokens: tokens allowed over the run: each reply's ``max_tokens`` is capped to what
            is left, and the run stops with :class:`UsageLimitExceeded` before a request that cannot fit.
        max_duration: wall-clock seconds allowed for the run (:class:`DurationLimitExceeded`).
        max_parallel_tools: tool calls of one step that may run at the same time.
        tool_timeout: seconds a tool may run unless it sets its own timeout (``None``: no limit).
        output_retries: how often the model may retry a final answer that fails validation.
        max_repeated_failures: how often the same failing call may repeat before the run stops.
        tool_choice: ``auto``, ``none``, ``required`` or a tool name, passed to the backend.
        settings: generation settings (temperature, max_tokens, seed, ...).
        approve: decides whether a tool marked ``requires_approval`` may run a given call.
        toolsets: sources of tools opened for each run and closed after it (e.g. MCP servers).
        context: keep every request within the model's context window: on by default (``True``),
            tuned with a :class:`~agentkit.context.ContextConfig`; ``False`` sends the whole history.

    Every way to run takes ``session=`` (a :class:`~agentkit.sessions.Session`, e.g.
    ``SQLiteSession``): the conversation continues from it and every message is journaled to it.
    ``prompt=None`` resumes the session's last run where it stopped (a killed process included):
    tool calls whose results were journaled are not run again.
    """

    def __init__(
        self,
        model: Backend | str = "local",
        *,
        tools: Iterable[ToolLike] | ToolRegistry = (),
        system_prompt: str | None = None,
        output_type: type[OutputT] | Any = str,
        max_steps: int = 20,
        max_total_tokens: int | None = None,
        max_duration: float | None = None,
        max_parallel_tools: int = 8,
        tool_timeout: float | None = 60.0,
        output_retries: int = 2,
        max_repeated_failures: int = 3,
        tool_choice: ToolChoice = "auto",
        settings: ModelSettings | None = None,
        approve: ApprovalCallback | None = None,
        toolsets: Sequence[Toolset] = (),
        context: ContextConfig | bool | None = True,
    ) -> None:
        self.limits = RunLimits(
            max_steps=max_steps,
            max_total_tokens=max_total_tokens,
            max_duration=max_duration,
            output_retries=output_retries,
            max_repeated_failures=max_repeated_failures,
        )
        check_positive("max_parallel_tools", max_parallel_tools)
        check_positive("tool_timeout", tool_timeout, allow_none=True)
        self.backend: Backend = resolve_backend(model)
        self.registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self.toolsets: tuple[Toolset, ...] = tuple(toolsets)
        if (
            tool_choice not in ("auto", "none", "required")
            and tool_choice not in self.registry
            and not self.toolsets  # their tools are known only once a run opens them
        ):
            raise ConfigurationError(
                f"tool_choice={tool_choice!r} is neither auto/none/required nor a registered tool "
                f"({', '.join(self.registry.names) or 'no tools registered'})"
            )
        self.output: OutputSpec[OutputT] = OutputSpec(output_type)
        self.system_prompt = render(
            "system.jinja",
            instructions=system_prompt,
            tool_names=self.registry.names,
            output_schema=self.output.schema,
        )
        self.max_parallel_tools = max_parallel_tools
        self.tool_timeout = tool_timeout
        self.tool_choice = tool_choice
        self.settings = settings or ModelSettings()
        self.approve = approve
        if context is True:
            from agentkit.context.config import ContextConfig

            context = ContextConfig()
        self.context: ContextConfig | None = context or None

    def spec(self, registry: ToolRegistry | None = None) -> RunSpec:
        """What a run of this agent needs (``registry``: the run's, when toolsets add tools)."""
        return RunSpec(
            backend=self.backend,
            registry=registry if registry is not None else self.registry,
            output=self.output,
            limits=self.limits,
            tool_choice=self.tool_choice,
            settings=self.settings,
            max_parallel_tools=self.max_parallel_tools,
            tool_timeout=self.tool_timeout,
            approve=self.approve,
            context=self.context,
        )

    # -- the one set-up --------------------------------------------------------------------------

    async def _events(
        self,
        prompt: str | None,
        *,
        deps: Any,
        message_history: Sequence[Message] | None,
        cancel: CancellationToken | None,
        session: Session | None,
        streaming: bool,
    ) -> AsyncIterator[AgentEvent]:
        if session is not None and message_history is not None:
            raise ConfigurationError("pass either message_history or session, not both")
        async with AsyncExitStack() as stack:
            if session is not None:  # held from before the history is read until the run ends
                from agentkit.sessions.base import run_lease

                stack.enter_context(run_lease(session))
            start = self._plan(prompt, session.load() if session is not None else message_history or ())
            finished = self._already_answered(start)
            if finished is not None:
                yield RunStarted(finished.run_id, tuple(finished.messages))
                yield FinalOutput(finished.output, finished)
                return
            registry = await open_toolsets(stack, self.registry, self.toolsets)
            # A lazy backend (a local model) loads on a worker thread now, not on the event loop when
            # the context window first asks for its size and token counts.
            await self.backend.aload()
            from agentkit.loop import RunLoop  # the loop (and asyncio) load at the first run

            loop = RunLoop(
                self.spec(registry), start, deps=deps, cancel=cancel, streaming=streaming, session=session
            )
            async for event in loop.events():
                yield event

    def _plan(self, prompt: str | None, past: Sequence[Message]) -> StartPlan:
        return plan_start(prompt, past, system_prompt=self.system_prompt)

    def _already_answered(self, start: StartPlan) -> RunResult[OutputT] | None:
        """The result of a resumed run whose answer was journaled, when that answer passes
        ``output_type``; otherwise the run continues with the model asked to fix it."""
        if start.final is None:
            return None
        try:
            output = self.output.parse(start.final.content)
        except OutputValidationError as exc:
            retry = output_retry_message(exc.message, self.output.schema)
            start.messages.append(retry)
            start.new.append(retry)
            return None
        return RunResult(
            output=output,
            messages=start.messages,
            usage=Usage(),
            steps=0,
            stop_reason="final_answer",
            text=start.final.content,
        )

    # -- the ways to run -------------------------------------------------------------------------

    async def run_stream(
        self,
        prompt: str | None,
        *,
        deps: DepsT | None = None,
        message_history: Sequence[Message] | None = None,
        cancel: CancellationToken | None = None,
        session: Session | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Run, yielding typed events as they happen (model text is streamed token by token).

        The last event is :class:`FinalOutput` (its ``result`` is the :class:`RunResult`), or
        :class:`RunFailed` followed by the error being raised.
        """
        async for event in self._events(
            prompt,
            deps=deps,
            message_history=message_history,
            cancel=cancel,
            session=session,
            streaming=True,
        ):
            yield event

    async def arun(
        self,
        prompt: str | None,
        *,
        deps: DepsT | None = None,
        message_history: Sequence[Message] | None = None,
        cancel: CancellationToken | None = None,
        session: Session | None = None,
        on_event: EventCallback | None = None,
    ) -> RunResult[OutputT]:
        """Run to the end and return the result; limits raise a :class:`RunLimitExceeded`
        subclass whose ``result`` holds the partial run. ``on_event`` is called with every event as it
        happens (model text streamed token by token when it is given)."""
        result: RunResult[OutputT] | None = None
        async for event in self._events(
            prompt,
            deps=deps,
            message_history=message_history,
            cancel=cancel,
            session=session,
            streaming=on_event is not None,
        ):
            if on_event is not None:
                on_event(event)
            if isinstance(event, FinalOutput):
                result = event.result
        if result is None:  # pragma: no cover - the loop always ends with FinalOutput or raises
            raise AssertionError("the run loop ended without a final event")
        return result

    def run(
        self,
        prompt: str | None,
        *,
        deps: DepsT | None = None,
        message_history: Sequence[Message] | None = None,
        cancel: CancellationToken | None = None,
        session: Session | None = None,
        on_event: EventCallback | None = None,
    ) -> RunResult[OutputT]:
        """Synchronous :meth:`arun`. Safe inside a running event loop (e.g. Jupyter): the run then
        happens on a worker thread with its own loop."""
        from agentkit.sync_bridge import run_coroutine  # asyncio loads at the first run

        return run_coroutine(
            lambda: self.arun(
                prompt,
                deps=deps,
                message_history=message_history,
                cancel=cancel,
                session=session,
                on_event=on_event,
            )
        )

    def iter(
        self,
        prompt: str | None,
        *,
        deps: DepsT | None = None,
        message_history: Sequence[Message] | None = None,
        cancel: CancellationToken | None = None,
        session: Session | None = None,
    ) -> Iterator[AgentEvent]:
        """:meth:`run_stream` for synchronous code: ``for event in agent.iter("task"): ...``.

        Stopping early (``break``) cancels what the run has in flight and leaves its conversation valid.
        """
        from agentkit.sync_bridge import iterate

        return iterate(
            lambda: self._events(
                prompt,
                deps=deps,
                message_history=message_history,
                cancel=cancel,
                session=session,
                streaming=True,
            )
        )

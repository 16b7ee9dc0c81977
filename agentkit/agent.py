"""The Agent: configuration plus the three ways to run it (``run``, ``arun``, ``run_stream``)."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from agentkit.backends import Backend, ModelSettings, ToolChoice, resolve_backend
from agentkit.cancellation import CancellationToken
from agentkit.errors import ConfigurationError, OutputValidationError
from agentkit.events import AgentEvent, FinalOutput, RunStarted
from agentkit.messages import Message, SystemMessage, Usage, UserMessage
from agentkit.output import OutputSpec
from agentkit.registry import ApprovalCallback, ToolRegistry
from agentkit.result import RunResult
from agentkit.templates import render
from agentkit.tool import ToolLike
from agentkit.toolset import Toolset, open_toolsets

if TYPE_CHECKING:
    from agentkit.context.config import ContextConfig
    from agentkit.loop import PendingCalls, RunLoop
    from agentkit.sessions.base import Session

OutputT = TypeVar("OutputT")
DepsT = TypeVar("DepsT")


def _positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}")


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
        max_total_tokens: stop before a request once this many tokens were used.
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
        _positive("max_steps", max_steps)
        _positive("max_parallel_tools", max_parallel_tools)
        _positive("max_total_tokens", max_total_tokens, allow_none=True)
        _positive("tool_timeout", tool_timeout, allow_none=True)
        if output_retries < 0 or max_repeated_failures < 1:
            raise ConfigurationError("output_retries must be >= 0 and max_repeated_failures >= 1")
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
        self.max_steps = max_steps
        self.max_total_tokens = max_total_tokens
        self.max_parallel_tools = max_parallel_tools
        self.tool_timeout = tool_timeout
        self.output_retries = output_retries
        self.max_repeated_failures = max_repeated_failures
        self.tool_choice = tool_choice
        self.settings = settings or ModelSettings()
        self.approve = approve
        if context is True:
            from agentkit.context.config import ContextConfig

            context = ContextConfig()
        self.context: ContextConfig | None = context or None

    def _initial_messages(self, prompt: str, history: Sequence[Message] | None) -> list[Message]:
        messages: list[Message] = list(history or ())
        if not messages or not isinstance(messages[0], SystemMessage):
            messages.insert(0, SystemMessage(content=self.system_prompt))
        messages.append(UserMessage(content=prompt))
        return messages

    def _start(
        self, prompt: str | None, history: Sequence[Message] | None, session: Session | None
    ) -> tuple[list[Message], PendingCalls | None] | RunResult[OutputT]:
        """The messages a run starts from (and the calls of an interrupted step to finish first), or
        the result itself when resuming a run that had already finished."""
        if session is None and prompt is not None:
            return self._initial_messages(prompt, history), None
        messages, resume, finished = self._continue(prompt, history, session)
        return finished if finished is not None else (messages, resume)

    def _loop(
        self,
        start: tuple[list[Message], PendingCalls | None],
        registry: ToolRegistry,
        session: Session | None,
        *,
        deps: Any,
        cancel: CancellationToken | None,
        streaming: bool,
    ) -> RunLoop:
        window = None
        if self.context is not None:
            from agentkit.context.manager import ContextWindow

            window = ContextWindow(self.context, self.backend, registry.specs(), self.settings)
        messages, resume = start
        from agentkit.loop import RunLoop  # the loop (and asyncio) load at the first run

        return RunLoop(
            self,
            messages,
            deps=deps,
            cancel=cancel,
            streaming=streaming,
            registry=registry,
            window=window,
            journal=session,
            resume=resume,
        )

    def _continue(
        self, prompt: str | None, history: Sequence[Message] | None, session: Session | None
    ) -> tuple[list[Message], PendingCalls | None, RunResult[OutputT] | None]:
        from agentkit.sessions.base import continuation, interrupted_error

        if session is not None and history is not None:
            raise ConfigurationError("pass either message_history or session, not both")
        past = session.load() if session is not None else list(history or ())
        state = continuation(past)
        if prompt is not None:
            if state.pending:
                raise interrupted_error(state)
            messages = self._initial_messages(prompt, past)
            if session is not None:
                for message in messages[-1:] if past else messages:
                    session.append(message)
            return messages, None, None
        if not past:
            raise ConfigurationError("nothing to resume: the conversation is empty; pass a prompt")
        messages = state.messages
        if not isinstance(messages[0], SystemMessage):
            messages.insert(0, SystemMessage(content=self.system_prompt))
        if state.final is not None:
            try:
                output = self.output.parse(state.final.content)
            except OutputValidationError as exc:
                retry = UserMessage(
                    content=render("output_retry.jinja", error=exc.message, output_schema=self.output.schema)
                )
                messages.append(retry)
                if session is not None:
                    session.append(retry)
                return messages, None, None
            result: RunResult[OutputT] = RunResult(
                output=output,
                messages=messages,
                usage=Usage(),
                steps=0,
                stop_reason="final_answer",
                text=state.final.content,
            )
            return messages, None, result
        return messages, ((state.pending, state.done) if state.pending else None), None

    @staticmethod
    def _hold(stack: AsyncExitStack, session: Session | None) -> None:
        """Hold the session's lease for the whole run (released with ``stack``): a second runner of
        the same conversation gets SessionBusyError instead of interleaving its turns with ours."""
        if session is not None:
            from agentkit.sessions.base import run_lease

            stack.enter_context(run_lease(session))

    async def _prepare_backend(self) -> None:
        """Let a backend that loads lazily (a local model) load on a worker thread now: the context
        window asks it for its size and token counts synchronously, which would otherwise load the
        model on the event loop."""
        prepare = getattr(self.backend, "aload", None)
        if prepare is not None and inspect.iscoroutinefunction(prepare):
            await prepare()

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
        async with AsyncExitStack() as stack:
            self._hold(stack, session)
            start = self._start(prompt, message_history, session)
            if isinstance(start, RunResult):  # a resumed session whose run had already answered
                yield RunStarted(start.run_id, tuple(start.messages))
                yield FinalOutput(start.output, start)
                return
            registry = await open_toolsets(stack, self.registry, self.toolsets)
            await self._prepare_backend()
            loop = self._loop(start, registry, session, deps=deps, cancel=cancel, streaming=True)
            async for event in loop.events():
                yield event

    async def arun(
        self,
        prompt: str | None,
        *,
        deps: DepsT | None = None,
        message_history: Sequence[Message] | None = None,
        cancel: CancellationToken | None = None,
        session: Session | None = None,
    ) -> RunResult[OutputT]:
        """Run to the end and return the result; limits raise a :class:`RunLimitExceeded`
        subclass whose ``result`` holds the partial run."""
        async with AsyncExitStack() as stack:
            self._hold(stack, session)
            start = self._start(prompt, message_history, session)
            if isinstance(start, RunResult):
                return start
            registry = await open_toolsets(stack, self.registry, self.toolsets)
            await self._prepare_backend()
            loop = self._loop(start, registry, session, deps=deps, cancel=cancel, streaming=False)
            result: RunResult[OutputT] | None = None
            async for event in loop.events():
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
    ) -> RunResult[OutputT]:
        """Synchronous :meth:`arun`. Safe inside a running event loop (e.g. Jupyter): the run then
        happens on a worker thread with its own loop."""
        results: list[RunResult[OutputT]] = []

        async def main() -> None:
            # The result is handed over through a list, not as the task's return value: asyncio.run
            # ends by swapping the SIGINT handler, and the stdlib then builds repr() of the main task,
            # which would include the whole conversation (O(history) work for nothing).
            results.append(
                await self.arun(
                    prompt, deps=deps, message_history=message_history, cancel=cancel, session=session
                )
            )

        import asyncio  # here, not at module level: it is a third of `import agentkit`'s time

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(main())
        else:
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentkit-run") as pool:
                pool.submit(asyncio.run, main()).result()
        return results[0]

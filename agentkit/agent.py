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
from agentkit.events import AgentEvent, FinalOutput, RunStarted, is_own
from agentkit.messages import Message, Usage
from agentkit.output import OutputSpec, output_retry_message
from agentkit.registry import ApprovalCallback, ToolRegistry
from agentkit.result import RunResult
from agentkit.run_spec import HandoffTarget, RunLimits, RunSpec, check_positive
from agentkit.run_start import plan_start
from agentkit.run_tree import Budget, RunTree
from agentkit.templates import render
from agentkit.tool import TOOL_NAME_PATTERN, Tool, ToolLike
from agentkit.toolset import Toolset, open_toolsets

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agentkit.context.config import ContextConfig
    from agentkit.multiagent.handoffs import Handoff
    from agentkit.run_context import RunContext
    from agentkit.run_start import StartPlan
    from agentkit.sessions.base import Session

Registries = dict[int, ToolRegistry]
"""The run's registry of each agent a run may involve (toolsets' tools included), by ``id(agent)``."""

OutputT = TypeVar("OutputT")
DepsT = TypeVar("DepsT")

EventCallback = Callable[[AgentEvent], object]
"""Called with every event of a run, as it happens (``run(..., on_event=print)``)."""


class Agent(Generic[OutputT, DepsT]):
    r"""An LLM agent that calls tools.

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
        name: the agent's name, for other agents and people: its tool name in :meth:`as_tool`, its
            segment in event paths and per-agent usage (letters, digits, ``_`` and ``-``).
        description: what the agent does, for a model choosing it (as a tool or a handoff).
        handoffs: agents (or :class:`~agentkit.multiagent.Handoff`\ s) this one may pass the
            conversation to, each through a ``transfer_to_<name>`` tool.
        max_handoffs: how often the conversation may pass between agents in one run.
        budget: steps and tokens for the whole run, this agent's and every agent's it involves.

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
        name: str = "agent",
        description: str = "",
        handoffs: Sequence[Agent[Any, Any] | Handoff] = (),
        max_handoffs: int = 10,
        budget: Budget | None = None,
    ) -> None:
        if not isinstance(name, str) or not TOOL_NAME_PATTERN.match(name):
            raise ConfigurationError(
                f"invalid agent name {name!r}: use 1 to 64 characters from a-z, A-Z, 0-9, '_' and '-'"
            )
        self.name = name
        self.description = description
        self.budget = budget
        self.limits = RunLimits(
            max_steps=max_steps,
            max_total_tokens=max_total_tokens,
            max_duration=max_duration,
            output_retries=output_retries,
            max_repeated_failures=max_repeated_failures,
            max_handoffs=max_handoffs,
        )
        check_positive("max_parallel_tools", max_parallel_tools)
        check_positive("tool_timeout", tool_timeout, allow_none=True)
        self.backend: Backend = resolve_backend(model)
        self.registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self.toolsets: tuple[Toolset, ...] = tuple(toolsets)
        self.handoffs: tuple[Handoff, ...] = ()
        self._add_handoffs(handoffs)
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
        self._instructions = system_prompt
        self.system_prompt = self._render_system_prompt()
        self.max_parallel_tools = max_parallel_tools
        self.tool_timeout = tool_timeout
        self.tool_choice = tool_choice
        self.settings = settings or ModelSettings()
        self.approve = approve
        if context is True:
            from agentkit.context.config import ContextConfig

            context = ContextConfig()
        self.context: ContextConfig | None = context or None

    def _render_system_prompt(self) -> str:
        return render(
            "system.jinja",
            instructions=self._instructions,
            tool_names=self.registry.names,
            output_schema=self.output.schema,
        )

    def spec(self, registry: ToolRegistry | None = None, registries: Registries | None = None) -> RunSpec:
        """What a run of this agent needs (``registry``: the run's, when toolsets add tools;
        ``registries``: those of the agents it may hand off to)."""
        return RunSpec(
            backend=self.backend,
            registry=registry if registry is not None else self.registry,
            name=self.name,
            handoffs=self._targets(registries or {}),
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
        tree: RunTree | None = None,
        path: str | None = None,
        parent: tuple[str, str] | None = None,
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
                finished.agent, finished.usage_by_agent = self.name, {path or self.name: finished.usage}
                yield RunStarted(finished.run_id, tuple(finished.messages), path=path or self.name)
                yield FinalOutput(finished.output, finished, path or self.name)
                return
            registries: Registries = {}
            for agent in self._reachable():  # every agent the run may hand the conversation to
                registries[id(agent)] = await open_toolsets(stack, agent.registry, agent.toolsets)
            # A lazy backend (a local model) loads on a worker thread now, not on the event loop when
            # the context window first asks for its size and token counts.
            await self.backend.aload()
            from agentkit.loop import RunLoop  # the loop (and asyncio) load at the first run

            spec = self.spec(registries[id(self)], registries)
            loop = RunLoop(
                spec,
                start,
                deps=deps,
                cancel=cancel,
                streaming=streaming,
                session=session,
                tree=tree if tree is not None else RunTree(self.budget),
                path=path,
                parent=parent,
                active=self._resumed_handoff(start, registries),
            )
            async for event in loop.events():
                yield event

    def child_events(
        self,
        task: str,
        *,
        context: RunContext[Any],
        path: str,
        session: Session | None,
        deps: Any,
    ) -> AsyncIterator[AgentEvent]:
        """This agent's run as a child of the run ``context`` belongs to (its tree, cancellation and
        watchers); a child session that holds an earlier, interrupted run of the same call resumes it."""
        assert context.call is not None
        resume = session is not None and len(session.load()) > 0
        return self._events(
            None if resume else task,
            deps=deps,
            message_history=None,
            cancel=context.cancel,
            session=session,
            streaming=context.emit is not None,
            tree=context.tree,
            path=path,
            parent=(context.run_id, context.call.id),
        )

    def _plan(self, prompt: str | None, past: Sequence[Message]) -> StartPlan:
        return plan_start(prompt, past, system_prompt=self.system_prompt)

    # -- several agents ------------------------------------------------------------------------

    def as_tool(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        input_type: type[BaseModel] | None = None,
        timeout: float | None = None,
    ) -> Tool:
        """This agent as a tool another agent can call: it runs as a nested run on the task it is given
        (a ``task`` string, or the fields of ``input_type``) and its answer is the tool's result.

        The parent's cancellation, budget, watchers and session reach it; its usage counts in the
        parent's result; a child that fails or hits a limit is a tool error the parent's model sees.
        ``timeout``: seconds before the call is abandoned (default: none; the child's own
        ``max_steps`` / ``max_duration`` bound it).
        """
        from agentkit.multiagent.as_tool import agent_tool

        return agent_tool(self, name=name, description=description, input_type=input_type, timeout=timeout)

    def add_handoffs(self, *targets: Agent[Any, Any] | Handoff) -> None:
        """Let this agent hand the conversation to ``targets`` too: for agents that hand back and forth
        (``triage`` to ``billing`` and back), which cannot all be given when they are built."""
        self._add_handoffs(targets)
        self.system_prompt = self._render_system_prompt()  # it names the new tools

    def _add_handoffs(self, targets: Sequence[Agent[Any, Any] | Handoff]) -> None:
        if not targets:
            return
        from agentkit.multiagent.handoffs import Handoff, transfer_tool

        added = []
        for item in targets:
            if not isinstance(item, Agent | Handoff):
                raise ConfigurationError(f"handoffs must be Agents or Handoffs, got {type(item).__name__}")
            added.append(item if isinstance(item, Handoff) else Handoff(item))
        for handoff in added:  # a name taken twice is a ToolDefinitionError, here
            self.registry.register(transfer_tool(handoff))
        self.handoffs = (*self.handoffs, *added)

    def _reachable(self) -> list[Agent[Any, Any]]:
        """This agent and every agent the conversation may be handed to from it, in order found."""
        found: list[Agent[Any, Any]] = [self]
        seen = {id(self)}
        for agent in found:  # grows while it is walked: a breadth-first search
            for handoff in agent.handoffs:
                if id(handoff.agent) not in seen:
                    seen.add(id(handoff.agent))
                    found.append(handoff.agent)
        return found

    def _targets(self, registries: Registries) -> dict[str, HandoffTarget]:
        targets: dict[str, HandoffTarget] = {}
        for handoff in self.handoffs:
            agent = handoff.agent

            def spec(agent: Agent[Any, Any] = agent) -> RunSpec:
                return agent.spec(registries.get(id(agent)), registries)

            targets[handoff.name] = HandoffTarget(agent.name, agent.system_prompt, spec, handoff.input_filter)
        return targets

    def _resumed_handoff(self, start: StartPlan, registries: Registries) -> tuple[HandoffTarget, int] | None:
        """The agent a stored conversation was last handed to, and where it took over (``None`` when
        the conversation never left this agent)."""
        targets: dict[str, HandoffTarget] = {}
        for agent in self._reachable():
            for name, target in agent._targets(registries).items():
                targets.setdefault(name, target)
        if not targets:
            return None
        from agentkit.multiagent.handoffs import last_transfer

        found = last_transfer(start.messages, list(targets))
        return None if found is None else (targets[found[0]], found[1])

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
            if isinstance(event, FinalOutput) and is_own(event, self.name):
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

"""Observers: things that watch a run's typed events as they happen (trace files, OpenTelemetry, the
console). ``observe_run`` drives ``Agent.run_stream`` and hands every event to each observer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agentkit.events import AgentEvent, FinalOutput, RunStarted, is_own
from agentkit.messages import Message

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.backends.base import Backend
    from agentkit.result import RunResult


@dataclass(frozen=True)
class RunStart:
    """What an observer learns before the first event: the agent and the messages the run starts from."""

    agent: Agent[Any, Any]
    prompt: str | None
    messages: list[Message]
    started_at: float = field(default_factory=time.time)
    tools: tuple[str, ...] = ()
    """The tools the model may call in this run (the agent's and its toolsets')."""


@runtime_checkable
class RunObserver(Protocol):
    """Receives one run: ``run_started``, then each event, then ``run_ended`` (even on failure)."""

    def run_started(self, start: RunStart) -> None: ...

    def on_event(self, event: AgentEvent) -> None: ...

    def run_ended(self) -> None: ...


def model_label(backend: Backend) -> str:
    """The model's name for people and traces: the backend's ``model``, else its name."""
    return backend.model or backend.name


def provider_label(backend: Backend) -> str:
    """The provider for ``gen_ai.provider.name``: the backend's ``provider``, else its name's prefix."""
    return backend.provider or backend.name.split(":", 1)[0]


async def observe_run(
    agent: Agent[Any, Any],
    prompt: str | None,
    observers: Sequence[RunObserver],
    *,
    message_history: Sequence[Message] | None = None,
    **run_options: Any,
) -> AsyncIterator[AgentEvent]:
    """``agent.run_stream(prompt)``, with every event also handed to each observer.

    Observers see the run start (with the messages it starts from) and end, even when it raises or the
    consumer stops iterating early; a run that fails before it starts (a bad session, say) only raises.
    Child agents' events, their ``RunStarted`` included, reach observers through ``on_event``.
    """
    started = False
    try:
        async for event in agent.run_stream(prompt, message_history=message_history, **run_options):
            if isinstance(event, RunStarted) and not started:  # a child agent's RunStarted is an event
                start = RunStart(agent, prompt, list(event.messages), tools=event.tools)
                for observer in observers:
                    observer.run_started(start)
                started = True
            else:
                for observer in observers:
                    observer.on_event(event)
            yield event
    finally:
        if started:
            for observer in observers:
                observer.run_ended()


async def arun_observed(
    agent: Agent[Any, Any],
    prompt: str | None,
    observers: Sequence[RunObserver],
    *,
    message_history: Sequence[Message] | None = None,
    **run_options: Any,
) -> RunResult[Any]:
    """Run to the end like ``agent.arun``, with observers; errors raise as they would from ``arun``."""
    result: RunResult[Any] | None = None
    async for event in observe_run(agent, prompt, observers, message_history=message_history, **run_options):
        if isinstance(event, FinalOutput) and is_own(event, agent.name):
            result = event.result
    if result is None:  # pragma: no cover - run_stream ends with FinalOutput or raises
        raise AssertionError("the run ended without a final event")
    return result

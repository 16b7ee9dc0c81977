"""Agent factories for the batch tests, importable by Ray workers and by ``--agent FILE.py:NAME``.

The scripted model is a function of the request only (the task's prompt and how many steps the run has
taken), so any worker can run, or resume, any task: a task "NAME" calls ``record`` twice, then answers
"answer to NAME"; a prompt containing "broken" fails with a BackendError. ``record`` appends one line
per execution to $AGENTKIT_TEST_EFFECTS (when set): the side effect the resume tests count.
``make_agent`` appends its process id to $AGENTKIT_TEST_BUILDS (when set) each time it builds one.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from agentkit import Agent, AssistantMessage, ModelRequest, UserMessage, tool
from agentkit.errors import BackendError
from agentkit.testing import ScriptedBackend, call

CALLS_PER_TASK = 2


@tool
def record(key: str) -> str:
    """Record key."""
    path = os.environ.get("AGENTKIT_TEST_EFFECTS")
    if path:
        with open(path, "a") as log:
            log.write(f"{key} {os.getpid()}\n")
    return key


def reply(request: ModelRequest) -> Any:
    prompt = next(m.content for m in request.messages if isinstance(m, UserMessage))
    step = sum(isinstance(m, AssistantMessage) for m in request.messages)
    if "broken" in prompt:
        raise BackendError(f"the model rejected {prompt!r}")
    if step < CALLS_PER_TASK:
        return call("record", key=f"{prompt}#{step}")
    return f"answer to {prompt}"


def make_agent() -> Agent[Any, Any]:
    builds = os.environ.get("AGENTKIT_TEST_BUILDS")
    if builds:  # one line per agent built: the Ray tests check it is once per worker, not per task
        with open(builds, "a") as log:
            log.write(f"{os.getpid()}\n")
    return Agent(model=ScriptedBackend(reply), tools=[record])


async def slow_reply(request: ModelRequest) -> Any:
    await asyncio.sleep(float(os.environ.get("AGENTKIT_TEST_MODEL_DELAY", "0.02")))
    return reply(request)


def make_slow_agent() -> Agent[Any, Any]:
    return Agent(model=ScriptedBackend(slow_reply), tools=[record])

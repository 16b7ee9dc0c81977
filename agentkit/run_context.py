"""The run context: what a tool may learn about the run that called it.

A tool parameter annotated with ``RunContext`` (or ``RunContext[MyDeps]``) is filled in by agentkit
and never shown to the model, so tools can reach shared dependencies (a database handle, an HTTP
client, user settings) without globals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from agentkit.messages import Message, Usage

DepsT = TypeVar("DepsT")


@dataclass
class RunContext(Generic[DepsT]):
    """Read-mostly view of the current run, handed to tools that ask for it."""

    deps: DepsT
    run_id: str = ""
    step: int = 0
    usage: Usage = field(default_factory=Usage)
    messages: Sequence[Message] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

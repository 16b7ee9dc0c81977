"""The agentkit error tree.

Two families, split by who must act:

    AgentkitError
    ├── ModelFixableError          the model can fix it: sent back as a tool result, never raised out of a run
    │   ├── UnknownToolError       the model named a tool that is not registered
    │   ├── ToolArgumentsError     arguments not valid JSON, or not valid under the tool's schema
    │   ├── ToolExecutionError     the tool raised (or raised ModelRetry on purpose)
    │   ├── ToolTimeoutError       the tool ran past its timeout
    │   ├── ToolApprovalDenied     the approval callback said no
    │   └── OutputValidationError  the final answer did not fit ``output_type``
    └── UserFacingError            the user must fix it: raised from ``Agent.run`` with a clear message
        ├── ConfigurationError     bad settings, unknown model string, missing optional dependency
        ├── ToolDefinitionError    a tool that cannot be registered (bad name, duplicate, bad signature)
        ├── BackendError           the model backend failed in a way retrying will not fix
        ├── ContextOverflowError   a request cannot fit the context window even after eviction
        ├── SessionError           a session cannot be opened, read or continued as asked
        │   └── SessionBusyError   another run holds the session's lease
        └── RunLimitExceeded       a limit stopped the run; ``.result`` holds everything done so far
            ├── MaxStepsExceeded
            ├── UsageLimitExceeded
            ├── ToolLoopDetected   the same failing call kept repeating
            └── OutputRetriesExhausted

``ModelRetry`` is what a tool raises to tell the model, in its own words, what to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.result import RunResult


class AgentkitError(Exception):
    """Base of every error agentkit raises."""


class ModelFixableError(AgentkitError):
    """An error whose message goes back to the model so it can correct itself."""

    def __init__(self, message: str, *, tool_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tool_name = tool_name


class UnknownToolError(ModelFixableError):
    """The model called a tool that is not registered."""


class ToolArgumentsError(ModelFixableError):
    """The arguments of a call were malformed or did not validate against the tool's schema."""


class ToolExecutionError(ModelFixableError):
    """The tool raised while running."""


class ToolTimeoutError(ModelFixableError):
    """The tool did not finish within its timeout."""


class ToolApprovalDenied(ModelFixableError):
    """The approval callback refused to run the tool."""


class OutputValidationError(ModelFixableError):
    """The final answer could not be parsed or validated as ``output_type``."""


class ModelRetry(Exception):
    """Raise inside a tool to send ``message`` to the model as a correctable error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserFacingError(AgentkitError):
    """An error the user (not the model) must fix."""


class ConfigurationError(UserFacingError):
    """Invalid settings: an unknown model string, a bad parameter, a missing optional dependency."""


class ToolDefinitionError(UserFacingError):
    """A tool cannot be defined or registered as given."""


class BackendError(UserFacingError):
    """The model backend failed and retrying will not help."""


class ContextOverflowError(UserFacingError):
    """A request would not fit the model's context window even after every allowed eviction and
    truncation; it was not sent. ``needed`` and ``budget`` are token counts."""

    def __init__(self, message: str, *, needed: int, budget: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.budget = budget


class SessionError(UserFacingError):
    """A session store cannot be used as asked (a damaged or unreachable store, wrong schema version,
    corrupt entry, an interrupted run continued with a new prompt, nothing to resume)."""


class SessionBusyError(SessionError):
    """Another run holds the session's lease (two runners of one conversation would interleave their
    turns). ``owner`` says who, ``expires_in`` how many seconds its lease lasts unless renewed."""

    def __init__(self, message: str, *, owner: str | None = None, expires_in: float | None = None) -> None:
        super().__init__(message)
        self.owner = owner
        self.expires_in = expires_in


class RunLimitExceeded(UserFacingError):
    """A limit stopped the run. Nothing is lost: ``result`` holds the messages and usage so far."""

    def __init__(self, message: str, result: RunResult[Any]) -> None:
        super().__init__(message)
        self.result = result


class MaxStepsExceeded(RunLimitExceeded):
    """The run reached ``max_steps`` without a final answer."""


class UsageLimitExceeded(RunLimitExceeded):
    """The run used more tokens than ``max_total_tokens`` allows."""


class ToolLoopDetected(RunLimitExceeded):
    """The model repeated the same failing tool call too many times."""


class OutputRetriesExhausted(RunLimitExceeded):
    """The final answer failed ``output_type`` validation on every allowed retry."""

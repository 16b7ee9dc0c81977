"""The agentkit error tree: every public error class, split by who must act.

    AgentkitError
    ├── ModelFixableError            the model can fix it: sent back to it, never raised out of a run
    │   ├── UnknownToolError         the model named a tool that is not registered
    │   ├── ToolArgumentsError       arguments not JSON, too large, or not valid under the tool's schema
    │   ├── ToolExecutionError       the tool raised (or raised ModelRetry on purpose)
    │   ├── ToolTimeoutError         the tool ran past its timeout
    │   ├── ToolApprovalDenied       the approval callback said no
    │   └── OutputValidationError    the final answer did not fit ``output_type``
    ├── UserFacingError              the user must fix it: raised from ``Agent.run`` with a clear message
    │   ├── ConfigurationError       bad settings, unknown model string, missing optional dependency
    │   │   └── ToolsetError         a toolset (an MCP server, say) cannot be started or reached
    │   ├── ToolDefinitionError      a tool that cannot be registered (bad name, duplicate, bad schema)
    │   ├── BackendError             the model backend failed in a way retrying will not fix
    │   │   ├── TransientError       a failure that may pass (429, 5xx, a dropped connection): retried
    │   │   ├── RetriesExhaustedError  every allowed retry of a transient failure failed
    │   │   └── RemoteBackendError   a model server refused the request (``status``, ``server_message``)
    │   │       ├── BadRequestError            400: an unsupported parameter, a bad message sequence
    │   │       ├── AuthenticationError        401: the API key is missing, wrong or revoked
    │   │       ├── PermissionDeniedError      403: the key may not use this model or endpoint
    │   │       ├── ModelNotFoundError         404: no such model, or the base URL is not a /v1 API
    │   │       ├── UnprocessableRequestError  422: the request's content was refused
    │   │       └── InvalidResponseError       the reply is not a chat-completions response
    │   ├── ContextOverflowError     a request cannot fit the context window even after eviction
    │   ├── SessionError             a session cannot be opened, read or continued as asked
    │   │   └── SessionBusyError     another run holds the session's lease
    │   └── RunLimitExceeded         a limit stopped the run; ``.result`` holds everything done so far
    │       ├── MaxStepsExceeded     ``max_steps`` model calls without a final answer
    │       ├── UsageLimitExceeded   ``max_total_tokens`` used
    │       ├── DurationLimitExceeded  ``max_duration`` seconds passed
    │       ├── HandoffLimitExceeded  agents handed the conversation on more than ``max_handoffs`` times
    │       ├── ToolLoopDetected     the same failing call kept repeating
    │       └── OutputRetriesExhausted  the final answer failed validation on every retry
    └── RunCancelled                 control flow: a cancellation token fired; a run returns with
                                     ``stop_reason="cancelled"`` instead of raising it

``ModelRetry`` (not an agentkit error: it is raised *by* user code) is what a tool raises to tell the
model, in its own words, what to change; the registry turns it into a ``ToolExecutionError``.

Subpackages raise these classes, or subclass them for one backend's or tool's specifics (the built-in
tools' refusals subclass ``ModelRetry``; ``agentkit.testing.ScriptExhaustedError`` is a
``BackendError``). Nothing else escapes ``Agent.run``/``arun``: a failure nobody anticipated becomes
one of the classes above with the original chained as ``__cause__``.
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


class ToolsetError(ConfigurationError):
    """A toolset (an MCP server, say) cannot be started, reached or listed when a run opens it."""


class ToolDefinitionError(UserFacingError):
    """A tool cannot be defined or registered as given."""


class BackendError(UserFacingError):
    """The model backend failed and retrying will not help."""


class TransientError(BackendError):
    """A failure that may go away on its own (rate limit, overload, server error, dropped connection,
    timeout); raised by a backend inside a retried attempt. ``retry_after``: the wait in seconds the
    server asked for, if it said."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RetriesExhaustedError(BackendError):
    """Every allowed attempt failed with a transient error (or the server asked for a longer wait than
    the remaining budget). ``attempts`` and ``waited`` say what was tried; ``last_error`` is the last
    failure."""

    def __init__(self, message: str, *, attempts: int, waited: float, last_error: TransientError) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.waited = waited
        self.last_error = last_error


class RemoteBackendError(BackendError):
    """A model server refused a request in a way retrying will not fix. ``status`` is the HTTP status
    (``None`` when there was no HTTP answer to speak of); ``server_message`` what the server said."""

    def __init__(self, message: str, *, status: int | None = None, server_message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class BadRequestError(RemoteBackendError):
    """400: the server rejected the request (unsupported parameter, bad message sequence, too long)."""


class AuthenticationError(RemoteBackendError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(RemoteBackendError):
    """403: the key is valid but may not use this model or endpoint."""


class ModelNotFoundError(RemoteBackendError):
    """404: no such model, or the base URL does not point at an OpenAI-compatible ``/v1`` API."""


class UnprocessableRequestError(RemoteBackendError):
    """422: the server understood the request but refused its content."""


class InvalidResponseError(RemoteBackendError):
    """The server answered with something that is not a chat-completions response."""


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


class DurationLimitExceeded(RunLimitExceeded):
    """The run took longer than ``max_duration`` seconds; what was in flight was cancelled."""


class HandoffLimitExceeded(RunLimitExceeded):
    """Agents handed the conversation to each other more than ``max_handoffs`` times in one run."""


class ToolLoopDetected(RunLimitExceeded):
    """The model repeated the same failing tool call too many times."""


class OutputRetriesExhausted(RunLimitExceeded):
    """The final answer failed ``output_type`` validation on every allowed retry."""


class RunCancelled(AgentkitError):
    """Raised inside a run when its cancellation token fires. Control flow, not a failure: the run
    catches it and returns with ``stop_reason="cancelled"``; it never escapes ``Agent.run``."""

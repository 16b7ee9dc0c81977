"""Exit codes of the ``agentkit`` command, stable so scripts can rely on them.

======  =====================================================================================
code    meaning
======  =====================================================================================
0       success: the run produced a final answer (or the command did what it was asked)
1       the run ended without an answer: a limit (max steps, tokens, a tool loop, output
        retries) stopped it, or it was cancelled
2       usage error: bad command-line arguments
3       configuration error: unknown model string, unreadable or broken tool file, missing
        optional dependency, a session or trace file that cannot be used, and any other
        error the user must fix (e.g. a request that cannot fit the context window)
4       the model backend failed (server unreachable, authentication, retries exhausted)
5       an unexpected internal error (a bug: rerun with --debug and report the traceback)
130     interrupted (Ctrl-C)
======  =====================================================================================
"""

from __future__ import annotations

from enum import IntEnum

from agentkit.errors import (
    BackendError,
    ConfigurationError,
    RunLimitExceeded,
    ToolDefinitionError,
    UserFacingError,
)


class ExitCode(IntEnum):
    OK = 0
    RUN_FAILED = 1
    USAGE = 2
    CONFIGURATION = 3
    BACKEND = 4
    INTERNAL = 5
    INTERRUPTED = 130


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an error that ended a command."""
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, RunLimitExceeded):
        return ExitCode.RUN_FAILED
    if isinstance(error, ConfigurationError | ToolDefinitionError):
        return ExitCode.CONFIGURATION
    if isinstance(error, BackendError | OSError | TimeoutError):
        return ExitCode.BACKEND
    if isinstance(error, UserFacingError):
        return ExitCode.CONFIGURATION
    return ExitCode.INTERNAL

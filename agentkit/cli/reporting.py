"""How the CLI reports: one clear line per error (secrets redacted), and log records on stderr, or
through the live display's console while it runs."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

from agentkit.cli.exit_codes import ExitCode, exit_code_for
from agentkit.errors import BackendError
from agentkit.tracing.redact import RedactingFilter, Redactor

_LOG_HANDLER_NAME = "agentkit-cli"


def report_error(error: BaseException, *, debug: bool) -> None:
    """One clear line on stderr (secrets redacted); the traceback too with --debug."""
    redactor = Redactor()
    if debug:
        text = "".join(traceback.format_exception(error))
        sys.stderr.write(redactor.text(text))
    message = str(error) or type(error).__name__
    code = exit_code_for(error)
    if code == ExitCode.INTERNAL:
        message = f"internal error: {type(error).__name__}: {message} (rerun with --debug for the traceback)"
    elif code == ExitCode.BACKEND and not isinstance(error, BackendError):
        message = f"model backend failed: {message}"
    sys.stderr.write(f"agentkit: error: {redactor.text(message.splitlines()[0] if message else message)}\n")
    sys.stderr.flush()


def configure_logging(debug: bool) -> None:
    """Log records on stderr, redacted: warnings and worse, or everything with --debug."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_LOG_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


def log_to_console(console: Any) -> None:
    """Send log records through the live display's rich console, so they print above the spinner
    instead of tearing it (still redacted)."""
    from rich.logging import RichHandler

    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _LOG_HANDLER_NAME:
            root.removeHandler(handler)
    rich_handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    rich_handler.set_name(_LOG_HANDLER_NAME)
    rich_handler.addFilter(RedactingFilter())
    root.addHandler(rich_handler)

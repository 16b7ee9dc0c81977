"""Approval callbacks for tools marked ``requires_approval`` (``Agent(approve=...)``).

``ask_on_terminal`` shows the tool and its arguments and asks ``Run it? [y/N]``. It refuses,
saying why on stderr, when stdin is not a terminal (a pipe, a service, CI): a script cannot answer
for a person, and a default of "yes" would defeat the point. Questions from tool calls that run
concurrently are asked one at a time. The reply's refusal goes back to the model as a tool result.

Text from the model is shown with control characters escaped, so arguments cannot rewrite the
terminal (ANSI escapes, carriage returns) to disguise what is being approved.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import unicodedata
from typing import TextIO

from agentkit.messages import ToolCall
from agentkit.tool import Tool

MAX_SHOWN_CHARS = 4000


def _escape(text: str) -> str:
    """Control and format characters (except newline and tab) shown as escapes."""
    out = []
    for char in text:
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf"):
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def describe_call(call: ToolCall, found: Tool) -> str:
    """The call as a person should see it before approving: the tool, then each argument.

    Multi-line strings (code, file contents) are shown as indented blocks rather than JSON with
    ``\\n`` escapes, so they can actually be read.
    """
    lines = [f"The agent wants to run tool '{_escape(found.name)}' with:"]
    if not call.arguments:
        lines.append("  (no arguments)")
    for key, value in call.arguments.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        hidden = len(text) - MAX_SHOWN_CHARS
        shown = _escape(text[:MAX_SHOWN_CHARS])
        if "\n" in shown:
            block = "\n".join("    | " + line for line in shown.splitlines())
            lines.append(f"  {_escape(key)}:\n{block}")
        else:
            lines.append(f"  {_escape(key)}: {shown}")
        if hidden > 0:
            lines.append(f"    ({hidden} more characters not shown)")
    return "\n".join(lines)


class TerminalApprover:
    """Asks on a terminal whether each call may run; usable as ``Agent(approve=...)``.

    Args:
        stdin: where answers are read (default: ``sys.stdin`` at call time).
        stdout: where questions are written (default: ``sys.stderr``, keeping stdout for results).
        refusal_hint: what the user can do instead when there is no terminal to ask on (the CLI
            says ``--yes``; a program, another ``approve=`` callback).
    """

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        *,
        refusal_hint: str = "pass another approve= callback",
    ) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._hint = refusal_hint
        self._lock = threading.Lock()

    async def __call__(self, call: ToolCall, found: Tool) -> bool:
        # Reading a terminal blocks; a worker thread keeps the event loop (and other tools) running.
        return await asyncio.to_thread(self.ask, call, found)

    def ask(self, call: ToolCall, found: Tool) -> bool:
        """Ask once and return the answer; anything but y/yes is a no."""
        stdin = self._stdin or sys.stdin
        out = self._stdout or sys.stderr
        with self._lock:
            if stdin is None or stdin.closed or not stdin.isatty():
                out.write(
                    f"agentkit: tool '{_escape(found.name)}' needs approval, but stdin is not a terminal "
                    f"to ask on; refused. Run interactively, or {self._hint}.\n"
                )
                out.flush()
                return False
            out.write(describe_call(call, found) + "\nRun it? [y/N] ")
            out.flush()
            answer = stdin.readline()
            if not answer:
                out.write("\nagentkit: no answer (end of input); refused.\n")
                out.flush()
                return False
            return answer.strip().lower() in ("y", "yes")


ask_on_terminal = TerminalApprover()
"""Approve tool calls by asking on the terminal (what the CLI uses)."""


def approve_all(call: ToolCall, found: Tool) -> bool:
    """Approve every call. Only for trusted settings (tests, sandboxes): it removes the safeguard."""
    return True


def deny_all(call: ToolCall, found: Tool) -> bool:
    """Refuse every call that needs approval (the model is told, and can try another way)."""
    return False

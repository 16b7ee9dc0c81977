"""The terminal approver: asks on a real pseudo-terminal, refuses without one, escapes control text."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from typing import TextIO

import pytest

from agentkit import Agent, ToolCall, ToolMessage, tool
from agentkit.approval import TerminalApprover, describe_call
from agentkit.testing import ScriptedBackend, call

ran: list[str] = []


@tool(requires_approval=True)
def delete_everything(target: str) -> str:
    """Pretend to delete a target."""
    ran.append(target)
    return f"deleted {target}"


@pytest.fixture
def terminal() -> Iterator[tuple[TextIO, int]]:
    """A pseudo-terminal: the approver reads the slave side, the test types on the master side."""
    master, slave = os.openpty()
    reader = os.fdopen(slave, "r", encoding="utf-8", buffering=1)
    try:
        yield reader, master
    finally:
        reader.close()
        os.close(master)


def _run_with(approver: TerminalApprover) -> ToolMessage:
    ran.clear()
    backend = ScriptedBackend([call("delete_everything", target="/tmp/x"), "done"])
    result = Agent(model=backend, tools=[delete_everything], approve=approver).run("go")
    backend.assert_used_up()
    return next(m for m in result.messages if isinstance(m, ToolMessage))


@pytest.mark.parametrize(
    ("typed", "allowed"), [("y\n", True), ("YES\n", True), ("n\n", False), ("\n", False)]
)
def test_asks_on_a_terminal_and_obeys_the_answer(
    terminal: tuple[TextIO, int], typed: str, allowed: bool
) -> None:
    reader, master = terminal
    shown = io.StringIO()
    os.write(master, typed.encode())
    message = _run_with(TerminalApprover(stdin=reader, stdout=shown))
    assert "delete_everything" in shown.getvalue() and "target: /tmp/x" in shown.getvalue()
    assert shown.getvalue().endswith("Run it? [y/N] ")
    assert (ran == ["/tmp/x"]) is allowed
    assert message.is_error is not allowed
    if not allowed:
        assert "did not approve" in message.content


def test_refuses_and_says_why_when_stdin_is_not_a_terminal() -> None:
    shown = io.StringIO()
    message = _run_with(TerminalApprover(stdin=io.StringIO("y\n"), stdout=shown))
    assert ran == []  # a "y" from a pipe is not a person's answer
    assert "stdin is not a terminal" in shown.getvalue()
    assert message.is_error


def test_end_of_input_is_a_refusal(terminal: tuple[TextIO, int]) -> None:
    reader, master = terminal
    os.write(master, b"\x04")  # Ctrl-D on an empty line: end of input
    shown = io.StringIO()
    message = _run_with(TerminalApprover(stdin=reader, stdout=shown))
    assert ran == [] and message.is_error
    assert "no answer" in shown.getvalue()


def test_concurrent_questions_are_asked_one_at_a_time(terminal: tuple[TextIO, int]) -> None:
    reader, master = terminal
    shown = io.StringIO()
    approver = TerminalApprover(stdin=reader, stdout=shown)
    ran.clear()
    calls = [call("delete_everything", target="a"), call("delete_everything", target="b")]
    backend = ScriptedBackend([calls, "done"])
    typist = threading.Timer(0.2, lambda: os.write(master, b"y\nn\n"))
    typist.start()
    Agent(model=backend, tools=[delete_everything], approve=approver).run("go")
    typist.join()
    assert len(ran) == 1  # one yes, one no, each read by exactly one question
    assert shown.getvalue().count("Run it? [y/N]") == 2


def test_control_characters_from_the_model_are_escaped() -> None:
    sneaky = ToolCall(name="delete_everything", arguments={"target": "safe\x1b[2K\rrm -rf /", "n": [1]})
    text = describe_call(sneaky, delete_everything)
    assert "\x1b" not in text and "\r" not in text
    assert "\\x1b[2K\\rrm -rf /" in text
    assert "n: [1]" in text


def test_multi_line_arguments_are_shown_as_readable_blocks() -> None:
    code = ToolCall(name="python", arguments={"code": "import os\nprint(os.getcwd())"})
    text = describe_call(code, delete_everything)
    assert "    | import os\n    | print(os.getcwd())" in text


def test_very_long_arguments_say_how_much_is_hidden() -> None:
    big = ToolCall(name="write_file", arguments={"content": "x" * 5000})
    assert "(1000 more characters not shown)" in describe_call(big, delete_everything)

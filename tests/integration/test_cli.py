"""The ``agentkit`` command through its real entry point (``python -m agentkit``), piped and on a pty."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agentkit.tracing import replay_messages

from .chat_server import ChatServer, chat_server  # noqa: F401 - a fixture
from .cli_helpers import ANSI, run_cli, run_cli_pty, strip_ansi, write_script

TOOLS = '''
from agentkit import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


@tool(requires_approval=True)
def launch(target: str) -> str:
    """Launch something risky.

    Args:
        target: what to launch
    """
    return f"launched {target}"
'''

ADD_THEN_ANSWER = [
    {
        "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}],
        "usage": {"input_tokens": 40, "output_tokens": 9},
    },
    {"content": "The sum is 5.", "usage": {"input_tokens": 55, "output_tokens": 6}},
]


@pytest.fixture
def tool_file(tmp_path: Path) -> Path:
    path = tmp_path / "mytools.py"
    path.write_text(TOOLS)
    return path


@pytest.fixture
def model(tmp_path: Path) -> str:
    return write_script(tmp_path / "script.json", ADD_THEN_ANSWER)


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("agentkit: error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- run ---------------------------------------------------------------------------------------------


def test_run_piped_prints_only_the_answer_on_stdout(model: str, tool_file: Path) -> None:
    done = run_cli("run", "What is 2 + 3?", "--model", model, "--tool", f"{tool_file}:add")
    assert done.code == 0, done.stderr
    assert done.stdout == "The sum is 5.\n"
    assert ANSI not in done.stdout + done.stderr
    assert '[step 1] call add({"a": 2, "b": 3})' in done.stderr
    assert "[step 1] result add" in done.stderr and ": 5" in done.stderr
    assert "[step 1] model" in done.stderr and "40 in / 9 out tokens" in done.stderr
    assert "[done] final_answer: 2 steps, 95 in / 15 out tokens" in done.stderr


def test_run_on_a_terminal_streams_steps_with_colour(model: str, tool_file: Path) -> None:
    done = run_cli_pty("run", "What is 2 + 3?", "--model", model, "--tool", str(tool_file))
    assert done.code == 0, done.stdout
    out = done.stdout
    assert ANSI in out  # colour and cursor control: the live display
    out = strip_ansi(out)
    assert "step 1" in out and "step 2" in out
    assert '→ add({"a": 2, "b": 3})' in out
    assert "← add 5" in out
    assert "The sum is 5." in out and out.count("The sum is 5.") == 1  # streamed, not repeated
    assert "✓ final_answer · 2 steps · 95 in / 15 out tokens" in out


def test_run_json_is_the_run_result(model: str, tool_file: Path) -> None:
    done = run_cli("run", "What is 2 + 3?", "--model", model, "--tool", f"{tool_file}:add", "--json")
    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] is True
    assert document["output"] == "The sum is 5." and document["stop_reason"] == "final_answer"
    assert document["steps"] == 2
    assert document["usage"] == {"input_tokens": 95, "output_tokens": 15, "requests": 2, "total_tokens": 110}
    roles = [m["role"] for m in document["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert document["messages"][3]["content"] == "5"
    assert done.stderr == ""  # --json: nothing but the document


def test_task_from_stdin(model: str, tool_file: Path) -> None:
    done = run_cli("run", "-", "--model", model, "--tool", str(tool_file), "--json", stdin="What is 2 + 3?")
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["messages"][1]["content"] == "What is 2 + 3?"


def test_max_steps_exits_1_with_the_partial_result(tmp_path: Path, tool_file: Path) -> None:
    looping = write_script(tmp_path / "loop.json", [ADD_THEN_ANSWER[0]] * 3)
    args = ("run", "loop", "--model", looping, "--tool", str(tool_file), "--max-steps", "2")
    done = run_cli(*args, "--json")
    assert done.code == 1
    document = json.loads(done.stdout)
    assert document["ok"] is False and document["stop_reason"] == "max_steps"
    assert document["error"]["type"] == "MaxStepsExceeded" and document["steps"] == 2
    plain = run_cli(*args)
    assert plain.code == 1 and plain.stdout == ""
    assert "max_steps=2" in _one_error_line(plain.stderr)


def test_backend_failure_exits_4_with_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    failing = write_script(tmp_path / "fail.json", [{"error": "server said no"}])
    done = run_cli("run", "hi", "--model", failing)
    assert done.code == 4
    assert _one_error_line(done.stderr) == "agentkit: error: server said no"
    document = json.loads(run_cli("run", "hi", "--model", failing, "--json").stdout)
    assert document["ok"] is False and document["error"] == {
        "type": "BackendError",
        "message": "server said no",
    }
    assert document["stop_reason"] == "error" and [m["role"] for m in document["messages"]] == [
        "system",
        "user",
    ]
    debug = run_cli("run", "hi", "--model", failing, "--debug")
    assert debug.code == 4 and "Traceback" in debug.stderr and "BackendError: server said no" in debug.stderr


def test_secrets_never_reach_stderr(tmp_path: Path) -> None:
    secret = "sk-live-0123456789abcdefABCDEF"
    failing = write_script(tmp_path / "fail.json", [{"error": f"invalid key {secret}"}])
    done = run_cli("run", "hi", "--model", failing, "--debug", MY_API_KEY=secret)
    assert done.code == 4
    assert secret not in done.stderr and "invalid key [REDACTED]" in done.stderr


# -- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run",), "the following arguments are required: task"),
        (("run", "x", "--max-steps", "0"), "expected a positive integer"),
        (("run", "x", "--no-such-flag"), "unrecognized arguments: --no-such-flag"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_exit_2(args: tuple[str, ...], message: str) -> None:
    done = run_cli(*args)
    assert done.code == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_no_command_prints_help_and_exits_2() -> None:
    done = run_cli()
    assert done.code == 2 and "run" in done.stderr and "chat" in done.stderr and "tools" in done.stderr


def test_help_documents_the_exit_codes() -> None:
    done = run_cli("run", "--help")
    assert done.code == 0
    assert "--model" in done.stdout and "--json" in done.stdout and "--trace" in done.stdout
    assert "3 configuration error" in " ".join(done.stdout.split())


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("nosuch:thing", "unknown model string 'nosuch:thing'"),
        ("scripted:/nonexistent/script.json", "cannot read script '/nonexistent/script.json'"),
        # Unknown before the local backend is installed; "GGUF file not found" (or the extras it needs)
        # with it: a configuration error either way, reported before any run starts.
        ("gguf:/nonexistent/model.gguf", ""),
    ],
)
def test_a_missing_model_is_a_configuration_error(model: str, message: str) -> None:
    done = run_cli("run", "hi", "--model", model)
    assert done.code == 3
    assert message in _one_error_line(done.stderr)
    document = json.loads(run_cli("run", "hi", "--model", model, "--json").stdout)
    assert document["ok"] is False and document["error"]["type"] == "ConfigurationError"


def test_tool_file_with_a_syntax_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("from agentkit import tool\n\ndef add(a: int, b: int) -> int\n    return a + b\n")
    done = run_cli("run", "hi", "--model", "scripted:/unused.json", "--tool", f"{broken}:add")
    assert done.code == 3
    line = _one_error_line(done.stderr)
    assert f"{broken}:3: syntax error" in line


@pytest.mark.parametrize(
    ("source", "spec_suffix", "message"),
    [
        ("x = 1\nraise RuntimeError('no config')\n", "", ":2: importing it raised RuntimeError: no config"),
        ("def helper(): pass\n", ":nothere", "has no 'nothere' (it has: helper)"),
        ("def helper(): pass\n", "", "defines no @tool"),
        ("limit = 5\n", ":limit", "is a int, not a tool, function or list of tools"),
    ],
)
def test_tool_files_that_cannot_give_tools(
    tmp_path: Path, source: str, spec_suffix: str, message: str
) -> None:
    path = tmp_path / "bad_tools.py"
    path.write_text(source)
    done = run_cli("run", "hi", "--model", "scripted:/unused.json", "--tool", f"{path}{spec_suffix}")
    assert done.code == 3
    assert message in _one_error_line(done.stderr)


def test_unknown_tool_name_lists_the_built_ins() -> None:
    done = run_cli("run", "hi", "--tool", "teleport")
    assert done.code == 3
    assert "unknown tool 'teleport'" in _one_error_line(done.stderr) and "calculator" in done.stderr


# -- approval --------------------------------------------------------------------------------------------


def test_risky_tool_is_refused_without_a_terminal_and_runs_with_yes(tmp_path: Path, tool_file: Path) -> None:
    script = [{"tool_calls": [{"name": "launch", "arguments": {"target": "rocket"}}]}, "ok"]
    model = write_script(tmp_path / "launch.json", script)
    refused = run_cli("run", "go", "--model", model, "--tool", str(tool_file), "--json")
    tool_message = json.loads(refused.stdout)["messages"][3]
    assert tool_message["is_error"] is True and "did not approve" in tool_message["content"]
    assert "needs approval, but stdin is not a terminal" in refused.stderr
    assert "pass --yes to approve every call" in refused.stderr  # what a CLI user can do, not approve=
    allowed = run_cli("run", "go", "--model", model, "--tool", str(tool_file), "--json", "--yes")
    assert json.loads(allowed.stdout)["messages"][3]["content"] == "launched rocket"


def test_risky_tool_asks_on_the_terminal(tmp_path: Path, tool_file: Path) -> None:
    script = [{"tool_calls": [{"name": "launch", "arguments": {"target": "rocket"}}]}, "ok"]
    model = write_script(tmp_path / "launch.json", script)
    trace = tmp_path / "t.jsonl"
    done = run_cli_pty(
        "run", "go", "--model", model, "--tool", str(tool_file), "--trace", str(trace), stdin_lines=("y",)
    )
    assert done.code == 0, done.stdout
    assert "The agent wants to run tool 'launch'" in strip_ansi(done.stdout)
    assert "Run it? [y/N]" in done.stdout
    assert replay_messages(trace)[3].content == "launched rocket"  # type: ignore[union-attr]


# -- traces --------------------------------------------------------------------------------------------


def test_trace_file_replays_into_the_run_messages_without_secrets(
    model: str, tool_file: Path, tmp_path: Path
) -> None:
    secret = "tok-3e1f5a9b7c2d4e6f8a0b"
    trace = tmp_path / "trace.jsonl"
    done = run_cli(
        "run",
        f"What is 2 + 3? (token {secret})",
        "--model",
        model,
        "--tool",
        str(tool_file),
        "--trace",
        str(trace),
        "--json",
        SERVICE_TOKEN=secret,
    )
    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert secret not in trace.read_text() and secret not in done.stdout
    replayed = [m.model_dump(mode="json") for m in replay_messages(trace)]
    assert replayed == document["messages"]


def test_unwritable_trace_is_a_configuration_error(model: str) -> None:
    done = run_cli("run", "hi", "--model", model, "--trace", "/nonexistent/dir/t.jsonl")
    assert done.code == 3 and "cannot write trace file" in _one_error_line(done.stderr)


def test_otel_spans_go_to_stderr_when_no_exporter_is_configured(model: str, tool_file: Path) -> None:
    done = run_cli("run", "What is 2 + 3?", "--model", model, "--tool", str(tool_file), "--otel", "--quiet")
    assert done.code == 0, done.stderr
    assert done.stdout == "The sum is 5.\n"
    for name in ('"invoke_agent agentkit"', '"chat scripted"', '"execute_tool add"'):
        assert name in done.stderr
    assert '"gen_ai.usage.input_tokens": 40' in done.stderr


# -- chat ----------------------------------------------------------------------------------------------


def test_chat_piped_keeps_the_conversation(tmp_path: Path) -> None:
    model = write_script(tmp_path / "chat.json", ["Hello Ada.", "Your name is Ada."])
    trace = tmp_path / "chat.jsonl"
    done = run_cli("chat", "--model", model, "--trace", str(trace), stdin="I am Ada\nWho am I?\n/exit\n")
    assert done.code == 0, done.stderr
    assert done.stdout == "Hello Ada.\nYour name is Ada.\n"
    second = replay_messages(trace)
    assert [m.content for m in second[1:]] == ["I am Ada", "Hello Ada.", "Who am I?", "Your name is Ada."]


def test_chat_reset_forgets(tmp_path: Path) -> None:
    model = write_script(tmp_path / "chat.json", ["one", "two"])
    trace = tmp_path / "chat.jsonl"
    done = run_cli("chat", "--model", model, "--trace", str(trace), stdin="first\n/reset\nsecond\n")
    assert done.code == 0 and "(conversation forgotten)" in done.stderr
    assert [m.content for m in replay_messages(trace)[1:]] == ["second", "two"]


def test_chat_on_a_terminal(tmp_path: Path) -> None:
    model = write_script(tmp_path / "chat.json", ["Hello there."])
    done = run_cli_pty("chat", "--model", model, stdin_lines=("hi", "/exit"))
    assert done.code == 0, done.stdout
    assert ANSI in done.stdout
    assert "you> " in done.stdout and "Hello there." in strip_ansi(done.stdout)


def test_chat_reports_a_failed_turn_and_goes_on(tmp_path: Path) -> None:
    model = write_script(tmp_path / "chat.json", [{"error": "overloaded"}, "fine now"])
    done = run_cli("chat", "--model", model, stdin="a\nb\n")
    assert "agentkit: error: overloaded" in done.stderr
    assert done.stdout == "fine now\n"
    assert done.code == 1  # scripts learn that a turn failed


# -- tools -----------------------------------------------------------------------------------------------


def test_tools_lists_a_files_tools_with_schemas(tool_file: Path) -> None:
    done = run_cli("tools", "--tool", str(tool_file))
    assert done.code == 0, done.stderr
    assert "add (--tool): Add two integers." in done.stdout
    assert "a: integer, required - the first number" in done.stdout
    assert "launch (--tool) [needs approval]" in done.stdout
    specs = json.loads(run_cli("tools", "--tool", f"{tool_file}:add", "--json").stdout)
    assert specs[0]["function"]["name"] == "add"
    assert specs[0]["function"]["parameters"]["required"] == ["a", "b"]


def test_tools_on_a_terminal_is_a_table(tool_file: Path) -> None:
    done = run_cli_pty("tools", "--tool", str(tool_file))
    assert done.code == 0 and "agentkit tools" in done.stdout and "add" in done.stdout and ANSI in done.stdout


def test_tools_without_arguments_lists_every_built_in(tmp_path: Path) -> None:
    done = run_cli("tools", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "unavailable" not in done.stdout
    for name in ("calculator", "web_search", "fetch_url", "python"):
        assert f"{name} (built-in)" in done.stdout
    assert "  expression: string, required" in done.stdout
    assert "python (built-in) [needs approval]" in done.stdout
    assert "write_file (built-in) [needs approval]" in done.stdout and "read_file (built-in)" in done.stdout


def test_built_in_calculator_in_a_run(tmp_path: Path) -> None:
    script = [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "6 * 7"}}]}, "42"]
    model = write_script(tmp_path / "calc.json", script)
    done = run_cli("run", "6 times 7?", "--model", model, "--tool", "calculator", "--json")
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["messages"][3]["content"] == "42"


def test_tool_file_with_pydantic_arguments_and_postponed_annotations(tmp_path: Path) -> None:
    path = tmp_path / "typed_tools.py"
    path.write_text(
        "from __future__ import annotations\n"
        "from typing import Annotated\n"
        "from pydantic import BaseModel, Field\n"
        "from agentkit import tool\n\n"
        "class Order(BaseModel):\n"
        "    item: str\n"
        "    quantity: Annotated[int, Field(ge=1)]\n\n"
        "@tool\n"
        "def place(order: Order) -> str:\n"
        '    """Place an order."""\n'
        "    return f'{order.quantity} x {order.item}'\n"
    )
    script = [
        {"tool_calls": [{"name": "place", "arguments": {"order": {"item": "tea", "quantity": 2}}}]},
        "ok",
    ]
    model = write_script(tmp_path / "order.json", script)
    done = run_cli("run", "order tea", "--model", model, "--tool", str(path), "--json")
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["messages"][3]["content"] == "2 x tea"


def test_console_script_is_installed() -> None:
    import subprocess
    import sys

    script = Path(sys.executable).parent / "agentkit"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("agentkit ")


def test_session_continues_across_cli_processes_and_traces_replay(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    first = write_script(tmp_path / "one.json", ["Hello Ada."])
    done = run_cli("run", "I am Ada", "--model", first, "--session", db, "--session-id", "ada", "--json")
    assert done.code == 0, done.stderr
    second = write_script(tmp_path / "two.json", ["You are Ada."])
    trace = tmp_path / "t.jsonl"
    args = ("run", "Who am I?", "--model", second, "--session", db, "--session-id", "ada")
    done = run_cli(*args, "--json", "--trace", str(trace))
    assert done.code == 0, done.stderr
    messages = json.loads(done.stdout)["messages"]
    assert [m["content"] for m in messages[1:]] == ["I am Ada", "Hello Ada.", "Who am I?", "You are Ada."]
    assert [m.model_dump(mode="json") for m in replay_messages(trace)] == messages


def test_session_without_session_support_or_with_a_bad_file_is_a_configuration_error(tmp_path: Path) -> None:
    model = write_script(tmp_path / "one.json", ["hi"])
    done = run_cli("run", "x", "--model", model, "--session", str(tmp_path / "no" / "such" / "dir.db"))
    assert done.code == 3
    _one_error_line(done.stderr)


TEMPERATURE_TOOL = '''
def convert_temperature(celsius: float) -> float:
    """Convert Celsius to Fahrenheit.

    Args:
        celsius: degrees Celsius
    """
    return round(celsius * 9 / 5 + 32, 2)
'''


def test_run_against_an_openai_compatible_server(chat_server: str, tmp_path: Path) -> None:  # noqa: F811
    tools = tmp_path / "temp.py"
    tools.write_text(TEMPERATURE_TOOL)
    key = "sk-cli-test-0123456789abcdef"
    trace = tmp_path / "t.jsonl"
    done = run_cli(
        "run",
        "21.5 C in F?",
        "--model",
        f"openai:local-model@{chat_server}",
        "--tool",
        f"{tools}:convert_temperature",
        "--trace",
        str(trace),
        OPENAI_API_KEY=key,
    )
    assert done.code == 0, done.stderr
    assert done.stdout == "That is 70.7 °F.\n"
    assert "[step 1] call convert_temperature" in done.stderr and "result convert_temperature" in done.stderr
    assert ChatServer.requests[0]["stream"] is True and ChatServer.requests[0]["model"] == "local-model"
    assert key not in trace.read_text() and key not in done.stderr


def test_an_unreachable_server_exits_4_saying_the_connection_was_refused(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = f"openai:m@http://127.0.0.1:{port}/v1"
    started = time.monotonic()
    done = run_cli("run", "hi", "--model", model, "--quiet", OPENAI_API_KEY="sk-x-0123456789abcdefgh")
    assert done.code == 4
    line = _one_error_line(done.stderr)
    assert "refused" in line and "timed out" not in line
    assert time.monotonic() - started < 20  # a few quick tries, not the whole retry policy (~17 s)


@pytest.mark.parametrize("extra", [(), ("--json",), ("--debug",)])
def test_credentials_in_the_model_url_exit_3_without_printing_the_password(extra: tuple[str, ...]) -> None:
    model = "openai:m@http://user:s3cret-pw@127.0.0.1:9/v1"
    done = run_cli("run", "hi", "--model", model, *extra)
    assert done.code == 3, done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr
    assert "carries credentials" in done.stdout + done.stderr


def _time_server() -> str:
    import shlex
    import sys

    return f"{shlex.quote(sys.executable)} -m mcp_server_time --local-timezone UTC"


def test_tools_lists_an_mcp_servers_tools() -> None:
    done = run_cli("tools", "--mcp", _time_server())
    assert done.code == 0, done.stderr
    assert "get_current_time (mcp)" in done.stdout and "convert_time (mcp)" in done.stdout


def test_run_calls_a_tool_of_an_mcp_server(tmp_path: Path) -> None:
    script = [{"tool_calls": [{"name": "get_current_time", "arguments": {"timezone": "UTC"}}]}, "It is now."]
    model = write_script(tmp_path / "time.json", script)
    done = run_cli("run", "What time is it?", "--model", model, "--mcp", _time_server(), "--json")
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)["messages"][3]
    assert result["is_error"] is False and '"timezone": "UTC"' in result["content"].replace("'", '"')


def test_mcp_server_that_cannot_start_is_one_clear_line(tmp_path: Path) -> None:
    model = write_script(tmp_path / "s.json", ["unused"])
    done = run_cli("run", "x", "--model", model, "--mcp", "/nonexistent/mcp-server --flag")
    assert done.code in (3, 4)
    assert "/nonexistent/mcp-server" in _one_error_line(done.stderr)


def test_mcp_serve_reports_a_bad_target() -> None:
    done = run_cli("mcp", "serve", "no_such_module_xyz:registry")
    assert done.code == 3
    assert "no_such_module_xyz" in done.stderr and "Traceback" not in done.stderr


def test_mcp_serve_round_trip_through_the_cli(tmp_path: Path, tool_file: Path) -> None:
    import shlex
    import sys

    (tmp_path / "served_tools.py").write_text(TOOLS + "\nTOOLS = [add]\n")
    server = f"{shlex.quote(sys.executable)} -m agentkit mcp serve served_tools:TOOLS"
    script = [{"tool_calls": [{"name": "add", "arguments": {"a": 40, "b": 2}}]}, "42"]
    model = write_script(tmp_path / "s.json", script)
    listed = run_cli("tools", "--mcp", server, cwd=tmp_path)
    assert listed.code == 0, listed.stderr
    assert "add (mcp): Add two integers." in listed.stdout
    done = run_cli("run", "40 + 2?", "--model", model, "--mcp", server, "--json", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["messages"][3]["content"] == "42"


def test_ctrl_c_exits_130_and_leaves_a_readable_trace(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from .cli_helpers import cli_env

    model = write_script(tmp_path / "slow.json", [{"content": "too late", "delay_s": 30}])
    trace = tmp_path / "t.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "run", "wait", "--model", model, "--trace", str(trace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        # as in a terminal: a suite started in the background of a shell inherits SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while "step_started" not in (trace.read_text() if trace.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr.rstrip().endswith("agentkit: interrupted") and "Traceback" not in stderr
    assert replay_messages(trace)[-1].content == "wait"  # type: ignore[union-attr]


LOGGING_TOOL = '''
import logging
import os


def fetch_report(name: str) -> str:
    """Fetch a report.

    Args:
        name: the report
    """
    logging.getLogger("reports").warning("fetching %s with key %s", name, os.environ["REPORTS_API_KEY"])
    return "report ok"
'''


@pytest.mark.parametrize("terminal", [False, True])
def test_logs_are_shown_and_redacted(tmp_path: Path, terminal: bool) -> None:
    secret = "rk-9f8e7d6c5b4a39281706"
    tools = tmp_path / "reports.py"
    tools.write_text(LOGGING_TOOL)
    script = [{"tool_calls": [{"name": "fetch_report", "arguments": {"name": "q3"}}]}, "done"]
    model = write_script(tmp_path / "s.json", script)
    args = ("run", "get q3", "--model", model, "--tool", f"{tools}:fetch_report")
    done = run_cli_pty(*args, REPORTS_API_KEY=secret) if terminal else run_cli(*args, REPORTS_API_KEY=secret)
    assert done.code == 0
    output = strip_ansi(done.stdout + done.stderr)
    assert "fetching q3 with key [REDACTED]" in output and secret not in output

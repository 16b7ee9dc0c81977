"""The ``agentkit`` command: argument parsing, dispatch, and turning errors into one line + an exit code.

    agentkit run "task" [--model M] [--tool NAME|FILE.py[:FUNC]]... [--json] [--trace FILE] ...
    agentkit chat [same options]
    agentkit tools [--tool ...] [--mcp SPEC] [--json]
    agentkit mcp serve module:registry       (when MCP support is installed)
    agentkit batch TASKS.jsonl [--out RESULTS.jsonl] [--engine ray] ...  (see agentkit.cli.batch)
    agentkit eval CASES.jsonl | --bfcl CATEGORIES [--model M]... [--tool T]...  (see agentkit.cli.eval)

Exit codes are listed in :mod:`agentkit.cli.exit_codes`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from agentkit.cli.exit_codes import ExitCode, exit_code_for
from agentkit.cli.reporting import configure_logging, report_error

EPILOG = """exit codes: 0 ok · 1 run ended without an answer (limit) · 2 usage error ·
3 configuration error · 4 model backend failed · 5 internal error · 130 interrupted"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit with ExitCode.USAGE and one line of explanation."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(ExitCode.USAGE)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        "-m",
        default="local",
        help="model string: local, hf:REPO_OR_DIR, gguf:PATH, openai:MODEL[@BASE_URL] (default: local)",
    )
    parser.add_argument(
        "--tool",
        "-t",
        action="append",
        default=[],
        metavar="TOOL",
        help="a built-in tool name (see 'agentkit tools') or path/to/file.py[:function]; repeatable",
    )
    parser.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="SPEC",
        help='tools from an MCP server: a command line ("cmd args") or a URL; repeatable',
    )
    parser.add_argument(
        "--max-steps", type=_positive_int, default=20, help="model calls allowed (default 20)"
    )
    parser.add_argument("--system", help="instructions for the model (the system prompt)")
    parser.add_argument(
        "--session",
        metavar="STORE",
        help="continue a conversation stored here: an SQLite file, sqlite:///PATH or postgresql://...",
    )
    parser.add_argument(
        "--session-id", default="default", help="which conversation in --session (default: default)"
    )
    parser.add_argument("--trace", metavar="FILE", help="append the run's events to FILE as JSON lines")
    parser.add_argument("--otel", action="store_true", help="emit OpenTelemetry spans (needs the otel extra)")
    parser.add_argument(
        "--yes", "-y", action="store_true", help="approve every tool call that asks for approval"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output, only the answer")


def _debug_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks and debug logs"
    )


def build_parser() -> argparse.ArgumentParser:
    from agentkit import __version__

    parser = _Parser(prog="agentkit", description="Run LLM agents that call tools.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"agentkit {__version__}")
    _debug_option(parser, False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser("run", help="run one task and print the answer", epilog=EPILOG)
    run.add_argument("task", help="what the agent should do ('-' reads it from stdin)")
    _agent_options(run)
    run.add_argument("--json", action="store_true", help="print the RunResult as JSON on stdout")
    _debug_option(run, argparse.SUPPRESS)

    chat = commands.add_parser("chat", help="talk with an agent, turn by turn", epilog=EPILOG)
    _agent_options(chat)
    _debug_option(chat, argparse.SUPPRESS)

    tools = commands.add_parser("tools", help="list the available tools and their schemas")
    tools.add_argument(
        "--tool",
        "-t",
        action="append",
        default=[],
        metavar="TOOL",
        help="list these tools instead of the built-ins (names or file.py[:function])",
    )
    tools.add_argument(
        "--mcp", action="append", default=[], metavar="SPEC", help="list an MCP server's tools"
    )
    tools.add_argument("--json", action="store_true", help="the OpenAI tool specs as JSON")
    _debug_option(tools, argparse.SUPPRESS)

    mcp = commands.add_parser("mcp", help="serve agentkit tools over MCP (needs the mcp extra)")
    mcp_commands = mcp.add_subparsers(dest="mcp_command", metavar="MCP_COMMAND", required=True)
    serve = mcp_commands.add_parser("serve", help="expose a ToolRegistry or a list of tools as an MCP server")
    serve.add_argument("target", help="module:attribute naming a ToolRegistry, a list of tools, or a factory")
    serve.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    serve.add_argument("--port", type=_positive_int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")
    serve.add_argument("--timeout", type=float, default=60.0, help="seconds per tool call (default 60)")
    _debug_option(serve, argparse.SUPPRESS)

    from agentkit.cli.batch import add_batch_parser

    add_batch_parser(commands, _positive_int)

    from agentkit.cli.eval import add_eval_parser

    add_eval_parser(commands, _positive_int)
    return parser


def _batch_command(args: argparse.Namespace) -> int:
    from agentkit.cli.batch import cmd_batch  # the batch package loads only for this command

    return cmd_batch(args)


def _eval_command(args: argparse.Namespace) -> int:
    from agentkit.cli.eval import cmd_eval  # the eval package loads only for this command

    return cmd_eval(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentkit`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help(sys.stderr)
        return ExitCode.USAGE
    configure_logging(args.debug)
    try:
        from agentkit.cli import commands

        handler = {
            "run": commands.cmd_run,
            "chat": commands.cmd_chat,
            "tools": commands.cmd_tools,
            "mcp": commands.cmd_mcp,
            "batch": _batch_command,
            "eval": _eval_command,
        }[args.command]
        return handler(args)
    except KeyboardInterrupt:
        sys.stderr.write("\nagentkit: interrupted\n")
        return ExitCode.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - every error becomes one line and an exit code
        report_error(error, debug=args.debug)
        if getattr(args, "json", False) and args.command == "run":
            from agentkit.cli.commands import result_json

            sys.stdout.write(json.dumps(result_json(None, error)) + "\n")  # scripts always get a document
        return exit_code_for(error)

"""What the CLI says about a run and its conversation: the tools a run really has (MCP servers'
included), /reset with a stored session, and a missing extra named in one line."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from agentkit import ConfigurationError
from agentkit.cli.extras import extra
from agentkit.sessions import SQLiteSession

from .cli_helpers import run_cli, write_script


def test_run_with_an_mcp_server_names_the_servers_tools_at_the_start(tmp_path: Path) -> None:
    server = f"{shlex.quote(sys.executable)} -m mcp_server_time --local-timezone UTC"
    model = write_script(tmp_path / "s.json", ["No tool needed."])
    done = run_cli("run", "hi", "--model", model, "--mcp", server)
    assert done.code == 0, done.stderr
    start = next(line for line in done.stderr.splitlines() if line.startswith("[run] model"))
    assert "get_current_time" in start and "convert_time" in start and "tools: none" not in start


def test_chat_reset_with_a_session_starts_a_new_conversation_and_keeps_the_old(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    model = write_script(tmp_path / "chat.json", ["one", "two"])
    args = ("chat", "--model", model, "--session", str(db), "--session-id", "ada")
    done = run_cli(*args, stdin="first\n/reset\nsecond\n")
    assert done.code == 0, done.stderr
    assert "conversation forgotten: now session 'ada-" in done.stderr
    assert "previous one is kept" in done.stderr and "as 'ada'" in done.stderr
    sessions = {info.session_id: info for info in SQLiteSession.list_sessions(db)}
    assert set(sessions) == {"ada", next(sid for sid in sessions if sid.startswith("ada-"))}
    with SQLiteSession(db, "ada", create=False) as old:
        assert [m.content for m in old.load()[1:]] == ["first", "one"]  # untouched
    new_id = next(sid for sid in sessions if sid != "ada")
    with SQLiteSession(db, new_id, create=False) as new:
        assert [m.content for m in new.load()[1:]] == ["second", "two"]  # "first" is forgotten


def test_a_missing_extra_is_named_in_one_configuration_error() -> None:
    expected = r"--frobnicate needs the 'frob' extra .*agentkit\[frob\]"
    with pytest.raises(ConfigurationError, match=expected), extra("frob", "--frobnicate"):
        import agentkit_no_such_module  # type: ignore[import-not-found]  # noqa: F401

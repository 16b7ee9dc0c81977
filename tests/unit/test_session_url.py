"""Choosing a session store from one string (agentkit.sessions.url), as --session and --journal do."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit import ConfigurationError, UserMessage
from agentkit.sessions import SQLiteSession, list_sessions, session_from_url
from agentkit.sessions.url import store_kind


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("chats.db", ("sqlite", "chats.db")),
        ("./dir/chats.db", ("sqlite", "./dir/chats.db")),
        ("/var/lib/chats.db", ("sqlite", "/var/lib/chats.db")),
        ("C:\\data\\chats.db", ("sqlite", "C:\\data\\chats.db")),
        ("sqlite:///chats.db", ("sqlite", "chats.db")),
        ("sqlite:////var/lib/chats%20old.db", ("sqlite", "/var/lib/chats old.db")),
        (
            "postgresql://u:pw@db:5433/agents?sslmode=require",
            ("postgresql", "postgresql://u:pw@db:5433/agents?sslmode=require"),
        ),
        ("postgres://db/agents", ("postgresql", "postgres://db/agents")),
    ],
)
def test_store_kinds(url: str, expected: tuple[str, str]) -> None:
    assert store_kind(url) == expected


@pytest.mark.parametrize("url", ["", "sqlite://", "sqlite:///", "mysql://db/x", "redis://cache"])
def test_urls_that_name_no_store_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        store_kind(url)


def test_a_path_and_a_sqlite_url_open_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    session = session_from_url("sqlite:///chats.db", "a")
    assert isinstance(session, SQLiteSession)
    session.append(UserMessage(content="hi"))
    assert session_from_url(str(tmp_path / "chats.db"), "a", create=False).load() == session.load()
    assert [i.session_id for i in list_sessions(f"sqlite:///{tmp_path}/chats.db")] == ["a"]

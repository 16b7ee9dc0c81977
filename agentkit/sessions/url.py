"""A session store chosen by one string, as the CLI's ``--session`` and a batch's ``--journal`` take it.

=================================  ===================================================================
``chats.db``, ``./dir/chats.db``   an SQLite file (a plain path)
``sqlite:///chats.db``             an SQLite file, relative to the working directory
``sqlite:////var/lib/chats.db``    an SQLite file, absolute (SQLAlchemy's convention: three slashes
                                   then the path)
``postgresql://user@host/db``      PostgreSQL (also ``postgres://``); libpq's URL, options included
=================================  ===================================================================
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from agentkit.errors import ConfigurationError
from agentkit.sessions.base import Session
from agentkit.sessions.journal import SessionInfo

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_POSTGRES = ("postgresql", "postgres")


def _sqlite_path(url: str) -> str:
    """The file of a ``sqlite:`` URL (``sqlite:///rel`` or ``sqlite:////abs``, query ignored)."""
    rest = url.split("://", 1)[1].split("?", 1)[0]
    if not rest.startswith("/") or rest == "/":
        raise ConfigurationError(
            f"{url!r} names no file: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return unquote(rest[1:])


def store_kind(url: str) -> tuple[str, str]:
    """``("sqlite", path)`` or ``("postgresql", url)`` for a store URL or path."""
    match = _SCHEME.match(url)
    if match is None:  # a plain path (a Windows drive letter, C:\\, has no "//" after the colon)
        if not url:
            raise ConfigurationError("a session store URL or path is empty")
        return "sqlite", url
    scheme = match.group(1).lower()
    if scheme == "sqlite":
        return "sqlite", _sqlite_path(url)
    if scheme in _POSTGRES:
        return "postgresql", url
    raise ConfigurationError(
        f"unsupported session store {scheme}://...: use a file path, sqlite:///PATH or postgresql://..."
    )


def session_from_url(url: str, session_id: str | None = None, **options: Any) -> Session:
    """Open ``session_id`` in the store ``url`` names (see the module docstring); ``options`` go to
    :class:`SQLiteSession` or :class:`PostgresSession` (``create=``, ``metadata=``, ``lease_ttl=``, ...)."""
    kind, where = store_kind(url)
    if kind == "sqlite":
        from agentkit.sessions.sqlite import SQLiteSession

        return SQLiteSession(where, session_id, **options)
    from agentkit.sessions.postgres import PostgresSession

    return PostgresSession(where, session_id, **options)


def list_sessions(url: str) -> list[SessionInfo]:
    """Every session in the store ``url`` names, oldest first (read-only)."""
    kind, where = store_kind(url)
    if kind == "sqlite":
        from agentkit.sessions.sqlite import SQLiteSession

        return SQLiteSession.list_sessions(where)
    from agentkit.sessions.postgres import PostgresSession

    return PostgresSession.list_sessions(where)

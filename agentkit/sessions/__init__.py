"""Durable sessions: conversations journaled as they happen, continued and resumed across processes.

See docs/memory.md.
"""

from agentkit.sessions.base import Continuation, Session, continuation
from agentkit.sessions.sqlite import SCHEMA_VERSION, SessionInfo, SQLiteSession

__all__ = ["SCHEMA_VERSION", "Continuation", "SQLiteSession", "Session", "SessionInfo", "continuation"]

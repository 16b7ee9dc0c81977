"""A conversation continued across processes: every message is journaled to a SQLite file.

    python examples/session_memory.py "My name is Ada and I like tea."
    python examples/session_memory.py "What is my name, and what do I like?"   # a new process remembers

The database is agentkit-session.db in the current directory (or AGENTKIT_SESSION_DB).
"""

from __future__ import annotations

import os
import sys

from agentkit import Agent, Backend, RunResult
from agentkit.sessions import SQLiteSession


def main(
    prompt: str,
    *,
    model: Backend | str | None = None,
    db: str | None = None,
    session_id: str = "example",
) -> RunResult[str]:
    session = SQLiteSession(db or os.environ.get("AGENTKIT_SESSION_DB", "agentkit-session.db"), session_id)
    agent = Agent(model or os.environ.get("AGENTKIT_MODEL", "local"))
    return agent.run(prompt, session=session)


if __name__ == "__main__":
    result = main(" ".join(sys.argv[1:]) or "Hello!")
    print(result.output)
    print(f"({len(result.messages)} messages in the conversation so far)")

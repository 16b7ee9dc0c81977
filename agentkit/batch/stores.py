"""Opening a batch's journal by location: an SQLite file, or PostgreSQL for workers on many machines.

Kept apart from both journals so that each imports only what it needs (the PostgreSQL one, psycopg,
only when asked for).
"""

from __future__ import annotations

from agentkit.batch.journal import BatchJournal, SQLiteJournal


def open_journal(location: str, batch_id: str, *, durable: bool = False) -> BatchJournal:
    """The journal at ``location``: ``postgresql://...`` or an SQLite file path."""
    from agentkit.sessions.url import store_kind

    kind, where = store_kind(location)
    if kind == "postgresql":
        from agentkit.batch.postgres_journal import PostgresJournal

        return PostgresJournal(where, batch_id)
    return SQLiteJournal(where, batch_id, durable=durable)

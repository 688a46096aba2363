"""The rebuild's first phase: its own connections, one rebuild of a projection at a time, and the `__next` tables."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from infrastructure.postgres.pool import configure

Connection = psycopg.AsyncConnection[TupleRow]
Progress = Callable[[int], None]  # told how many more events were read
SUFFIX = "__next"
BATCH = 5_000  # events a read of the log takes at a time


@asynccontextmanager
async def working_connection(database_url: str) -> AsyncIterator[Connection]:
    """A connection of the rebuild's own: autocommit, configured as the service's, with no statement timeout (a
    bulk load or an index build may take minutes)."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await configure(conn)
        await conn.execute("SET statement_timeout = 0")
        yield conn


async def one_at_a_time(conn: Connection, name: str) -> None:
    """Wait for any other rebuild of `name` (before touching its __next tables); released with the connection."""
    await conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"taskflow-rebuild:{name}",))


async def prepare(conn: Connection, tables: Sequence[str]) -> None:
    """A fresh `<table>__next` beside each live table: columns, defaults, checks; no indexes yet (the load is
    faster without)."""
    for table in tables:
        fresh = sql.Identifier(table + SUFFIX)
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(fresh))
        await conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS)").format(
                fresh, sql.Identifier(table)
            )
        )
        # LIKE does not copy storage parameters (tasks_view's fillfactor keeps room for HOT supersedes).
        cursor = await conn.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", (table,))
        row = await cursor.fetchone()
        if row and row[0]:
            options = sql.SQL(", ").join(sql.SQL(option) for option in row[0])
            await conn.execute(sql.SQL("ALTER TABLE {} SET ({})").format(fresh, options))

"""The rebuild's last phase: the new table, its indexes and keys take the live names in one short transaction."""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from application.projections.kinds import Rows, Totals
from infrastructure.postgres.followers import Follower
from infrastructure.postgres.rebuild.catch_up import catch_up, follow_into
from infrastructure.postgres.rebuild.tables import SUFFIX, Connection, Progress

log = logging.getLogger(__name__)

SWAP_ATTEMPTS = 300
SWAP_LOCK_WAIT_MS = 200
SWAP_PAUSE_SECONDS = 0.2


async def rename_into_place(
    conn: Connection, tables: Sequence[str], indexes: list[tuple[str, str]], keys: list[tuple[str, str]]
) -> None:
    """Inside the swap transaction: the new tables, their indexes and keys take the live names."""
    for table in tables:
        await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
        await conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(table + SUFFIX), sql.Identifier(table))
        )
    for constraint, table in keys:
        await conn.execute(
            sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                sql.Identifier(table), sql.Identifier(constraint + SUFFIX), sql.Identifier(constraint)
            )
        )
    renamed_by_key = {constraint for constraint, _ in keys}
    for index, _ in indexes:
        if index not in renamed_by_key:
            await conn.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(index + SUFFIX), sql.Identifier(index))
            )


async def swap_inline(
    conn: Connection,
    projection: Rows[Any] | Totals[Any],
    snapshot: str,
    checkpoint: tuple[str, int],
    indexes: list[tuple[str, str]],
    keys: list[tuple[str, str]],
) -> None:
    """Lock `events` (appends in flight finish, new ones wait) and the live table, apply the last events, and
    rename; a lock not granted at once is let go, and tried again after another catch-up."""
    name = projection.name
    for attempt in range(SWAP_ATTEMPTS):
        try:
            async with conn.transaction():
                # Short lock waits: while this waits, appends wait behind it, and they must not time out.
                await conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_WAIT_MS}ms'")
                await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
                await conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(name)))
                await catch_up(conn, projection, snapshot, checkpoint, final=True)
                await rename_into_place(conn, (name,), indexes, keys)
            return
        except psycopg.errors.LockNotAvailable:
            log.info("rebuild %s: the swap waits for readers (attempt %d)", name, attempt + 1)
            checkpoint = await catch_up(conn, projection, snapshot, checkpoint, final=False)
            await asyncio.sleep(SWAP_PAUSE_SECONDS)
    raise RuntimeError(f"rebuild {name}: could not take the swap's locks; the live tables are unchanged")


async def swap_followed(
    conn: Connection,
    follower: Follower,
    checkpoint: tuple[str, int],
    indexes: list[tuple[str, str]],
    keys: list[tuple[str, str]],
    progress: Progress,
) -> None:
    """Follow the last events into the new table and hand over its checkpoint as the tables swap: the live
    follower goes on from where the rebuild stopped."""
    name = follower.name
    async with conn.transaction():
        await conn.execute("SET LOCAL lock_timeout = '30s'")
        # The live follower waits here (its batch locks this row), then goes on from the rebuild's checkpoint.
        await conn.execute("INSERT INTO follower_checkpoints (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (name,))
        await conn.execute("SELECT 1 FROM follower_checkpoints WHERE name = %s FOR UPDATE", (name,))
        await conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(name)))
        checkpoint = await follow_into(conn, follower, checkpoint, progress)
        await conn.execute(
            "UPDATE follower_checkpoints SET transaction_id = %s::xid8, position = %s, updated_at = now()"
            " WHERE name = %s",
            (checkpoint[0], checkpoint[1], name),
        )
        await rename_into_place(conn, (name,), indexes, keys)

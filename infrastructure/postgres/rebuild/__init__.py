"""Rebuild a projection's table from the log beside the live one, then swap it in (the API reads the old meanwhile)."""

import logging
import time
from typing import Any

from psycopg import sql

from application.projections.kinds import Mode, Rows, Table, Totals
from application.projections.registry import BY_NAME
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.postgres.rebuild.bulk_load import Load, copy_from_log
from infrastructure.postgres.rebuild.catch_up import catch_up, first_missed, follow_into
from infrastructure.postgres.rebuild.indexes import build_indexes
from infrastructure.postgres.rebuild.swap import swap_followed, swap_inline
from infrastructure.postgres.rebuild.tables import SUFFIX, Progress, one_at_a_time, prepare, working_connection

log = logging.getLogger(__name__)


async def rebuild(database_url: str, name: str, progress: Progress = lambda _: None) -> int:
    """Rebuild projection `name` (one that keeps a table) and swap it in; returns how many events it read."""
    projection = BY_NAME[name]
    read = 0

    def counted(n: int) -> None:
        nonlocal read
        read += n
        progress(n)

    if isinstance(projection, Rows | Totals) and projection.mode is Mode.INLINE:
        await _rebuild_inline(database_url, projection, counted)
    elif isinstance(projection, Table):
        await _rebuild_followed(database_url, projection, counted)
    else:
        raise ValueError(f"{name} keeps no table to rebuild")
    log.info("rebuilt %s from %d events", name, read)
    return read


async def events_to_read(pool: Pool, name: str) -> int:
    """How many events rebuilding `name` reads: its own streams' (inline), or the whole log's (a follower)."""
    projection = BY_NAME[name]
    types = None if projection.mode is Mode.FOLLOWER else sorted(projection.stream_types)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM events WHERE %s::text[] IS NULL OR stream_type = ANY(%s)", (types, types)
        )
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _rebuild_inline(database_url: str, projection: Rows[Any] | Totals[Any], progress: Progress) -> None:
    """The phases in order: a fresh table, the bulk load as of a snapshot, the indexes, a catch-up on what the
    snapshot missed, and the swap (in which appends wait for the last catch-up)."""
    name = projection.name
    async with working_connection(database_url) as conn:
        await one_at_a_time(conn, name)
        await prepare(conn, (name,))
        started = time.monotonic()
        snapshot, horizon = await copy_from_log(database_url, conn, Load(projection), progress)
        log.info("rebuild %s: bulk load in %.1f s", name, time.monotonic() - started)
        started = time.monotonic()
        indexes, keys = await build_indexes(database_url, conn, (name,))
        await conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name + SUFFIX)))
        log.info("rebuild %s: %d indexes in %.1f s", name, len(indexes), time.monotonic() - started)
        started = time.monotonic()
        checkpoint = await catch_up(conn, projection, snapshot, first_missed(horizon), final=False)
        await swap_inline(conn, projection, snapshot, checkpoint, indexes, keys)
    log.info("rebuild %s: catch-up and swap in %.1f s", name, time.monotonic() - started)


async def _rebuild_followed(database_url: str, projection: Table[Any], progress: Progress) -> None:
    """A follower's table by following the whole log into a new table, then swapped in with its checkpoint (a bulk
    load by stream could not hand over a place in commit order)."""
    name = projection.name
    async with working_connection(database_url) as conn:
        await one_at_a_time(conn, name)
        await prepare(conn, (name,))
        indexes, keys = await build_indexes(database_url, conn, (name,))  # the upsert needs its key from the start
        follower = ProjectionFollower(projection, SUFFIX)
        checkpoint = await follow_into(conn, follower, ("0", 0), progress)
        await swap_followed(conn, follower, checkpoint, indexes, keys, progress)

"""Log followers: the one way every asynchronous consumer reads the log, in commit order, gap-free."""

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from typing import Protocol

import psycopg
from psycopg.rows import TupleRow

from application.records import RecordedEvent
from infrastructure.postgres.event_rows import EVENT_COLUMNS, record_from_row
from infrastructure.postgres.event_store import CHANNEL, NOTIFY_QUIET_SECONDS
from infrastructure.postgres.pool import Pool

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH = 1000

Connection = psycopg.AsyncConnection[TupleRow]

BATCH_QUERY = f"""
SELECT events.transaction_id::text AS xid, {EVENT_COLUMNS} FROM events
WHERE (transaction_id, position) > (%s::xid8, %s)
  AND transaction_id < events_horizon()
ORDER BY events.transaction_id, events.position
LIMIT %s
"""


class Follower(Protocol):
    """A consumer of the log. It reads in (transaction_id, position) order, only below the oldest running transaction
    (events_horizon()), so an event whose transaction commits late is never skipped; a batch and its checkpoint commit
    together. One instance is active, under a session advisory lock; a standby takes over when its connection dies."""

    name: str

    async def handle(self, conn: Connection, records: Sequence[RecordedEvent]) -> None:
        """Apply one batch, in commit order, inside the transaction that also moves the checkpoint."""
        ...


async def run_batch(pool: Pool, follower: Follower, size: int = BATCH) -> int:
    """Handle the next batch of committed events; returns how many there were."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO follower_checkpoints (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (follower.name,)
        )
        cursor = await conn.execute(
            "SELECT transaction_id::text, position FROM follower_checkpoints WHERE name = %s FOR UPDATE",
            (follower.name,),
        )
        checkpoint = await cursor.fetchone()
        assert checkpoint is not None
        cursor = await conn.execute(BATCH_QUERY, (checkpoint[0], checkpoint[1], size))
        rows = await cursor.fetchall()
        if not rows:
            return 0
        await follower.handle(conn, [record_from_row(row[1:]) for row in rows])
        await conn.execute(
            "UPDATE follower_checkpoints SET transaction_id = %s::xid8, position = %s, updated_at = now()"
            " WHERE name = %s",
            (rows[-1][0], rows[-1][1], follower.name),
        )
        return len(rows)


def lock_key(name: str) -> str:
    return f"taskflow-follower:{name}"


# pg_locks' row of a follower's lock (a bigint key: its halves in classid and objid), in this database only:
# other deployments on the server hold the same keys in their own databases.
HELD_LOCK = """
l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
AND (l.classid::bigint << 32) | l.objid::bigint = hashtextextended(%(lock_key)s, 0)
"""


def session_name(name: str, pid: int) -> str:
    """The name of the session that holds the lock of follower `name` in process `pid` (its application_name)."""
    return f"taskflow-follower {name} pid {pid}"


async def follow(database_url: str, pool: Pool, follower: Follower, stop: asyncio.Event) -> None:
    """Be the active instance of `follower` (waiting as a standby until its lock is free), until `stop`."""
    while not stop.is_set():
        try:
            # The session's name says which process holds which follower (pg_stat_activity.application_name).
            name = session_name(follower.name, os.getpid())
            # Keepalives: a host that vanishes (not just a killed process) loses its lock within seconds.
            async with await psycopg.AsyncConnection.connect(
                database_url,
                autocommit=True,
                application_name=name,
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
                tcp_user_timeout=10_000,
            ) as session:
                if await _lead(session, follower.name, stop):
                    await _work(session, pool, follower, stop)
        except (psycopg.OperationalError, OSError):
            log.warning("follower %s lost the database; retrying", follower.name, exc_info=True)
            await _sleep(stop, POLL_SECONDS)


async def _lead(session: Connection, name: str, stop: asyncio.Event) -> bool:
    while not stop.is_set():
        cursor = await session.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (lock_key(name),))
        row = await cursor.fetchone()
        if row and row[0]:
            log.info("follower %s is active here", name)
            return True
        await _sleep(stop, POLL_SECONDS)
    return False


async def _work(session: Connection, pool: Pool, follower: Follower, stop: asyncio.Event) -> None:
    await session.execute(f"LISTEN {CHANNEL}")
    while not stop.is_set():
        try:
            handled = await run_batch(pool, follower)
        except (psycopg.OperationalError, OSError):
            raise
        except Exception:  # the batch rolled back with its checkpoint; it comes again next round
            log.warning("follower %s failed a batch; retrying", follower.name, exc_info=True)
            handled = 0
        if handled == BATCH:
            continue
        if handled:
            # Appends just behind this batch may not have notified (a process notifies at most so often).
            await _sleep(stop, NOTIFY_QUIET_SECONDS)
            continue
        # Caught up: wait for an append's notification, or poll (a NOTIFY can be lost with a connection).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(POLL_SECONDS):
                async for _ in session.notifies():
                    break


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

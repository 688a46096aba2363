"""The refund jobs' PostgreSQL side: the follower that keeps `refund_jobs` from the log, and their enqueueing."""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.projections.registry import REFUND_DISPATCHER
from application.records import RecordedEvent
from domain import refunds
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.projections.followed import followed_events

log = logging.getLogger(__name__)

BATCH = 500

Connection = psycopg.AsyncConnection[TupleRow]


class JobQueue(Protocol):
    """Where due jobs go (infrastructure/redis/job_queue.py's stream)."""

    async def enqueue(self, refund_id: UUID, attempt: int) -> str: ...

    async def missing(self, entry_ids: list[str]) -> set[str]: ...


class RefundDispatcher:
    """The follower: which attempts are called for, and which are done, as the log says. The log is the outbox:
    the rows move in the transaction that moves the checkpoint, so no event is missed or counted twice. A retry
    is due at the failed attempt's time plus the delay its RefundAttemptFailed recorded."""

    name = REFUND_DISPATCHER.name

    async def handle(self, conn: Connection, records: Sequence[RecordedEvent]) -> None:
        due: list[tuple[UUID, int, datetime]] = []
        done: list[tuple[UUID, int]] = []
        for record, event, _, _ in await followed_events(conn, records, REFUND_DISPATCHER.stream_types, False):
            if isinstance(event, refunds.RefundRequested):
                due.append((record.stream_id, 1, record.recorded_at))
            elif isinstance(event, refunds.RefundRetried):
                due.append((record.stream_id, event.attempt, record.recorded_at))
            elif isinstance(event, refunds.RefundSucceeded):
                done.append((record.stream_id, event.attempt))
            elif isinstance(event, refunds.RefundAttemptFailed):
                done.append((record.stream_id, event.attempt))
                if event.retry_in_seconds is not None:
                    wait = timedelta(seconds=event.retry_in_seconds)
                    due.append((record.stream_id, event.attempt + 1, record.recorded_at + wait))
        if due:
            await conn.execute(
                "INSERT INTO refund_jobs (refund_id, attempt, due_at)"
                " SELECT * FROM unnest(%s::uuid[], %s::int[], %s::timestamptz[]) ON CONFLICT DO NOTHING",
                [list(column) for column in zip(*due, strict=True)],
            )
        if done:
            await conn.execute(
                "UPDATE refund_jobs j SET done_at = now() FROM unnest(%s::uuid[], %s::int[]) AS d(refund_id, attempt)"
                " WHERE j.refund_id = d.refund_id AND j.attempt = d.attempt AND j.done_at IS NULL",
                [list(column) for column in zip(*done, strict=True)],
            )


_DUE = """
SELECT refund_id, attempt FROM refund_jobs
WHERE done_at IS NULL AND enqueued_at IS NULL AND due_at <= %s
ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED
"""

_ENQUEUED = """
UPDATE refund_jobs j SET enqueued_at = %s, message_id = q.message_id, enqueues = j.enqueues + 1
FROM unnest(%s::uuid[], %s::int[], %s::text[]) AS q(refund_id, attempt, message_id)
WHERE j.refund_id = q.refund_id AND j.attempt = q.attempt
"""

_QUEUED = """
SELECT message_id FROM refund_jobs
WHERE done_at IS NULL AND enqueued_at IS NOT NULL AND message_id IS NOT NULL
ORDER BY enqueued_at LIMIT %s FOR UPDATE SKIP LOCKED
"""


async def enqueue_due(pool: Pool, broker: JobQueue, now: datetime) -> int:
    """Put every due job on the queue; returns how many."""
    async with pool.connection() as conn, conn.transaction():
        cursor = await conn.execute(_DUE, (now, BATCH))
        rows = await cursor.fetchall()
        if not rows:
            return 0
        entries = [await broker.enqueue(refund_id, attempt) for refund_id, attempt in rows]
        await conn.execute(_ENQUEUED, (now, [r[0] for r in rows], [r[1] for r in rows], entries))
    return len(rows)


async def requeue_lost(pool: Pool, broker: JobQueue) -> int:
    """Mark jobs the queue no longer holds (a flush, a restart without persistence, a trim) as due again; returns
    how many."""
    async with pool.connection() as conn, conn.transaction():
        cursor = await conn.execute(_QUEUED, (BATCH,))
        entries = [row[0] for row in await cursor.fetchall()]
        lost = await broker.missing(entries) if entries else set()
        if lost:
            await conn.execute(
                "UPDATE refund_jobs SET enqueued_at = NULL WHERE message_id = ANY(%s) AND done_at IS NULL",
                (list(lost),),
            )
            log.warning("the job queue lost %d refund job(s); they are queued again", len(lost))
    return len(lost)

"""The refund dispatcher: the event log is the outbox of refund jobs.

A log follower turns refund events into rows of `refund_jobs` (which attempt is due when, which are done), in the
transaction that moves its checkpoint, so no event is missed or counted twice. A loop puts each due row on the
job queue, and notices when Redis has lost a job it put there (the stream no longer holds the entry: a flush, a
restart without persistence, a trim) and puts it there again. Retry delays are real: a retry's row is due at the
failed attempt's time plus the delay recorded in its RefundAttemptFailed event, and the loop looks every 0.2 s.
Several schedulers may run: the follower is active in one, and rows are taken with SKIP LOCKED.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.ports import Clock
from application.projections.registry import REFUND_DISPATCHER
from application.records import RecordedEvent
from domain import refunds
from infrastructure.job_queue import RefundStreamBroker
from infrastructure.postgres import Pool
from infrastructure.projections.followed import followed_events

log = logging.getLogger(__name__)

TICK_SECONDS = 0.2
LOSS_CHECK_SECONDS = 2.0
BATCH = 500

Connection = psycopg.AsyncConnection[TupleRow]


class RefundDispatcher:
    """The follower: which attempts are called for, and which are done, as the log says."""

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


async def enqueue_due(pool: Pool, broker: RefundStreamBroker, now: datetime) -> int:
    """Put every due job on the queue; returns how many."""
    async with pool.connection() as conn, conn.transaction():
        cursor = await conn.execute(_DUE, (now, BATCH))
        rows = await cursor.fetchall()
        if not rows:
            return 0
        entries = [await broker.enqueue(refund_id, attempt) for refund_id, attempt in rows]
        await conn.execute(_ENQUEUED, (now, [r[0] for r in rows], [r[1] for r in rows], entries))
    return len(rows)


async def requeue_lost(pool: Pool, broker: RefundStreamBroker) -> int:
    """Mark jobs the queue no longer holds as due again; returns how many."""
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


async def dispatch(pool: Pool, broker: RefundStreamBroker, clock: Clock, stop: asyncio.Event) -> None:
    """Until `stop`: enqueue due jobs every tick, and look for lost ones every few seconds."""
    loop = asyncio.get_running_loop()
    checked_at = 0.0
    while not stop.is_set():
        try:
            await enqueue_due(pool, broker, clock.now())
            if loop.time() - checked_at >= LOSS_CHECK_SECONDS:
                await requeue_lost(pool, broker)
                checked_at = loop.time()
        except Exception:  # a dependency is down: nothing was marked, so the same jobs come again next tick
            log.warning("refund dispatch failed; retrying", exc_info=True)
            await _sleep(stop, 1.0)
        await _sleep(stop, TICK_SECONDS)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

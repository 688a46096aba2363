"""Where the refund jobs stand: on the queue, running, waiting for a retry, and dead letters."""

from datetime import datetime

import msgspec

from infrastructure.postgres.pool import Pool
from infrastructure.redis.job_queue import RefundStreamBroker

_COUNTS = """
SELECT count(*) FILTER (WHERE enqueued_at IS NULL AND due_at > %(now)s),
       count(*) FILTER (WHERE enqueued_at IS NULL AND due_at <= %(now)s),
       (SELECT count(*) FROM refunds_view WHERE status = 'FAILED' AND NOT dismissed)
FROM refund_jobs WHERE done_at IS NULL
"""


class JobStatus(msgspec.Struct, frozen=True, rename="camel"):
    queued: int  # on the stream, not yet delivered to a worker
    in_flight: int  # delivered, not yet acknowledged
    scheduled_retries: int  # waiting for their time
    due: int  # due, about to be queued by the scheduler
    dead_letters: int


async def job_status(pool: Pool, broker: RefundStreamBroker, now: datetime) -> JobStatus:
    async with pool.connection() as conn:
        cursor = await conn.execute(_COUNTS, {"now": now})
        row = await cursor.fetchone()
    assert row is not None, "an aggregate always has a row"
    queued, in_flight = await broker.counts()
    return JobStatus(
        queued=queued, in_flight=in_flight, scheduled_retries=int(row[0]), due=int(row[1]), dead_letters=int(row[2])
    )

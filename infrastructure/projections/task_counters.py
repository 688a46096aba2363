"""task_counters: per-owner counts by status and priority, moved by the difference each transaction makes.

Runs after tasks_view in the same transaction: a task's version superseded by this transaction counts -1, its
version written by this transaction (and still current) +1, so creates, changes and deletes all net out. Each
owner's counts are split into stripes by task id (`task_counter_stripe`), and reads sum them: concurrent commands
of one owner then mostly move different rows, instead of each waiting on one row lock for the commit before it.
"""

from collections.abc import Sequence
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

TABLE = "task_counters"

_APPLY = """
WITH changed AS (
    SELECT owner_id, task_counter_stripe(id) AS stripe, status, priority, -1 AS sign FROM {tasks}
    WHERE id = ANY(%(ids)s) AND valid_to = pg_current_xact_id() AND valid_from <> pg_current_xact_id()
    UNION ALL
    SELECT owner_id, task_counter_stripe(id), status, priority, 1 FROM {tasks}
    WHERE id = ANY(%(ids)s) AND valid_from = pg_current_xact_id() AND valid_to IS NULL
)
INSERT INTO {counters} AS c (owner_id, stripe, total, pending, in_progress, completed, high_priority)
SELECT owner_id, stripe, sum(sign), coalesce(sum(sign) FILTER (WHERE status = 'PENDING'), 0),
       coalesce(sum(sign) FILTER (WHERE status = 'IN_PROGRESS'), 0),
       coalesce(sum(sign) FILTER (WHERE status = 'COMPLETED'), 0),
       coalesce(sum(sign) FILTER (WHERE priority = 'HIGH'), 0)
FROM changed GROUP BY owner_id, stripe
ORDER BY owner_id, stripe  -- one lock order for every writer, so concurrent batches cannot deadlock
ON CONFLICT (owner_id, stripe) DO UPDATE SET
    total = c.total + excluded.total,
    pending = c.pending + excluded.pending,
    in_progress = c.in_progress + excluded.in_progress,
    completed = c.completed + excluded.completed,
    high_priority = c.high_priority + excluded.high_priority
"""


async def apply(
    conn: psycopg.AsyncConnection[TupleRow],
    task_ids: Sequence[UUID],
    tasks_table: str = "tasks_view",
    table: str = TABLE,
) -> None:
    """Move the counters of the owners whose tasks this transaction changed."""
    await conn.execute(_APPLY.format(tasks=tasks_table, counters=table), {"ids": list(task_ids)})

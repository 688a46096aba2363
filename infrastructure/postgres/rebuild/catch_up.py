"""The rebuild's catch-up: the events its snapshot missed, in commit order, applied to the new table."""

from typing import Any

from application.projections.kinds import Rows, Totals
from infrastructure.postgres.event_rows import EVENT_COLUMNS, record_from_row
from infrastructure.postgres.followers import BATCH_QUERY as FOLLOWER_BATCH
from infrastructure.postgres.followers import Follower
from infrastructure.postgres.projections.followed import apply_projections
from infrastructure.postgres.rebuild.tables import BATCH, SUFFIX, Connection, Progress

MISSED_QUERY = f"""
SELECT events.transaction_id::text AS xid, {EVENT_COLUMNS} FROM events
WHERE stream_type = %(type)s AND NOT pg_visible_in_snapshot(transaction_id, %(snapshot)s::pg_snapshot)
  AND (transaction_id, position) > (%(xid)s::xid8, %(position)s)
  {{bound}}
ORDER BY events.transaction_id, events.position LIMIT %(limit)s
"""


def first_missed(horizon: str) -> tuple[str, int]:
    """Where the events a snapshot did not see begin in commit order: at the oldest of this database's transactions it
    saw running (every transaction before it is visible to it, or aborted; another database's write no event here).
    Catching up from there reads an index range, not the whole log; the swap runs the last catch-up while appends wait
    on its lock (from the start of the log: 0.2 s a million events)."""
    return horizon, 0


async def catch_up(
    conn: Connection, projection: Rows[Any] | Totals[Any], snapshot: str, checkpoint: tuple[str, int], final: bool
) -> tuple[str, int]:
    """Apply, in commit order, the events the snapshot missed (below the oldest running transaction, unless
    `final`: then `events` is locked and every event in it is committed)."""
    bound = "" if final else "AND transaction_id < events_horizon()"
    while True:
        (stream_type,) = projection.stream_types
        params = {
            "type": stream_type,
            "snapshot": snapshot,
            "xid": checkpoint[0],
            "position": checkpoint[1],
            "limit": BATCH,
        }
        async with conn.transaction():
            cursor = await conn.execute(MISSED_QUERY.format(bound=bound), params)
            rows = await cursor.fetchall()
            if rows:
                # The registry's own computation, as the inline append makes it, into the new tables.
                await apply_projections(conn, [projection], [record_from_row(row[1:]) for row in rows], SUFFIX)
        if rows:
            checkpoint = (rows[-1][0], rows[-1][1])
        if len(rows) < BATCH:
            return checkpoint


async def follow_into(
    conn: Connection, follower: Follower, checkpoint: tuple[str, int], progress: Progress
) -> tuple[str, int]:
    """Feed `follower` every committed event after `checkpoint`, a transaction a batch, as the live follower would."""
    while True:
        async with conn.transaction():
            cursor = await conn.execute(FOLLOWER_BATCH, (checkpoint[0], checkpoint[1], BATCH))
            rows = await cursor.fetchall()
            if rows:
                await follower.handle(conn, [record_from_row(row[1:]) for row in rows])
        if rows:
            checkpoint = (rows[-1][0], rows[-1][1])
            progress(len(rows))
        if len(rows) < BATCH:
            return checkpoint

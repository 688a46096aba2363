"""Reading the committed log in commit order, for auditors: the follower's query, with filters and a position."""

from collections.abc import Sequence
from uuid import UUID

from application.records import RecordedEvent
from infrastructure.event_rows import EVENT_COLUMNS, record_from_row
from infrastructure.postgres import Pool, translated_errors

# Only below the oldest running transaction: an event that commits late can never land behind a reader.
PAGE_QUERY = f"""
SELECT events.transaction_id::text AS xid, {EVENT_COLUMNS} FROM events
WHERE (transaction_id, position) > (%(xid)s::xid8, %(position)s)
  AND transaction_id < events_horizon()
  AND (%(types)s::text[] IS NULL OR type = ANY(%(types)s))
  AND (%(stream)s::uuid IS NULL OR stream_id = %(stream)s)
ORDER BY events.transaction_id, events.position
LIMIT %(limit)s
"""


class PostgresEventLog:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def page(
        self, after: tuple[str, int] | None, limit: int, types: Sequence[str], stream_id: UUID | None
    ) -> list[tuple[str, RecordedEvent]]:
        xid, position = after or ("0", 0)
        params = {"xid": xid, "position": position, "types": list(types) or None, "stream": stream_id, "limit": limit}
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(PAGE_QUERY, params)
            rows = await cursor.fetchall()
        return [(row[0], record_from_row(row[1:])) for row in rows]

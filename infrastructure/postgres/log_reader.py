"""The committed log for auditors: pages in commit order or newest first, filtered; one stream's chain verified."""

from typing import Any
from uuid import UUID

from application.records import RecordedEvent
from application.views import LogQuery, StreamVerification
from infrastructure.postgres.event_rows import EVENT_COLUMNS, record_from_row
from infrastructure.postgres.log_audit import verify_stream
from infrastructure.postgres.pool import Pool, translated_errors

# Only below the oldest running transaction: an event that commits late can never land behind a reader, whichever
# way it reads.
_HORIZON = "transaction_id < events_horizon()"
# Each filter is a plain equality, so a page is one range of an index in commit order (migrations 0001 and 0014):
# a single value as `=`, since `= ANY` over an index leading with that column is not in commit order.
_ONE_OF = {
    "types": ("type = %(types)s", "type = ANY(%(types)s)"),
    "stream_types": ("stream_type = %(stream_types)s", "stream_type = ANY(%(stream_types)s)"),
}


def page_query(query: LogQuery) -> tuple[str, dict[str, Any]]:
    """The SQL of one page of `query`, and its parameters."""
    conditions: list[str] = [_HORIZON]
    params: dict[str, Any] = {"limit": query.limit}
    if query.after is not None:
        conditions.append("(transaction_id, position) > (%(after_xid)s::xid8, %(after_position)s)")
        params |= {"after_xid": query.after[0], "after_position": query.after[1]}
    if query.before is not None:
        conditions.append("(transaction_id, position) < (%(before_xid)s::xid8, %(before_position)s)")
        params |= {"before_xid": query.before[0], "before_position": query.before[1]}
    for name in ("types", "stream_types"):
        values: tuple[str, ...] = getattr(query, name)
        if values:
            one, many = _ONE_OF[name]
            conditions.append(one if len(values) == 1 else many)
            params[name] = values[0] if len(values) == 1 else list(values)
    if query.stream_id is not None:
        conditions.append("stream_id = %(stream_id)s")
        params["stream_id"] = query.stream_id
    # The envelope's ids, never the event's data: metadata is what the event store writes about an append.
    if query.correlation_id is not None:
        conditions.append("metadata ->> 'correlationId' = %(correlation_id)s")
        params["correlation_id"] = query.correlation_id
    if query.causation_id is not None:
        conditions.append("metadata ->> 'causationId' = %(causation_id)s")
        params["causation_id"] = query.causation_id
    order = "DESC" if query.newest_first else "ASC"
    # Every part of the text is one of the fixed strings above; the values go as parameters.
    text = (
        f"SELECT events.transaction_id::text AS xid, {EVENT_COLUMNS} FROM events WHERE {' AND '.join(conditions)}"
        f" ORDER BY events.transaction_id {order}, events.position {order} LIMIT %(limit)s"
    )
    return text, params


class PostgresEventLog:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def page(self, query: LogQuery) -> list[tuple[str, RecordedEvent]]:
        statement, params = page_query(query)
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(statement, params)
            rows = await cursor.fetchall()
        return [(row[0], record_from_row(row[1:])) for row in rows]

    async def verify_stream(self, stream_id: UUID) -> StreamVerification | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = %s ORDER BY version", (stream_id,)
            )
            records = [record_from_row(row) for row in await cursor.fetchall()]
        return verify_stream(stream_id, records) if records else None

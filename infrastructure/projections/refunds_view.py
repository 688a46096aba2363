"""refunds_view: one row per refund, upserted from the refund's whole stream (refund streams are short)."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.folds import refund_state
from application.records import RecordedEvent
from infrastructure.event_rows import EVENT_COLUMNS, record_from_row

TABLE = "refunds_view"
COLUMNS = (
    "id",
    "task_id",
    "owner_id",
    "amount",
    "currency",
    "status",
    "attempts",
    "last_error",
    "requested_at",
    "completed_at",
    "dismissed",
    "version",
    "updated_at",
)
_TYPES = ("uuid", "uuid", "uuid", "bigint", "text", "text", "int", "text", "timestamptz", "timestamptz", "bool", "int")

_UPSERT = f"""
INSERT INTO {{table}} ({", ".join(COLUMNS)})
SELECT * FROM unnest({", ".join(f"%s::{t}[]" for t in (*_TYPES, "timestamptz"))})
ON CONFLICT (id) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])}
"""


def refund_row(records: Sequence[RecordedEvent]) -> tuple[Any, ...] | None:
    """The row of one refund after its whole stream, in version order (None for no refund)."""
    state = refund_state(records)
    if not state.requested:
        return None
    return (
        records[0].stream_id,
        state.task_id,
        state.owner_id,
        state.amount,
        state.currency,
        state.status.value,
        state.attempts,
        state.last_error,
        state.requested_at,
        state.completed_at,
        state.dismissed,
        records[-1].version,
        records[-1].recorded_at,
    )


async def apply(conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent], table: str = TABLE) -> None:
    """Bring the rows of every refund in `records` up to date (a stream begun earlier is read whole first)."""
    streams: dict[UUID, list[RecordedEvent]] = defaultdict(list)
    for record in records:
        streams[record.stream_id].append(record)
    older = [stream_id for stream_id, stream in streams.items() if stream[0].version > 1]
    if older:
        cursor = await conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ANY(%s) ORDER BY stream_id, version", (older,)
        )
        for stream_id in older:
            streams[stream_id] = []
        for row in await cursor.fetchall():
            streams[row[1]].append(record_from_row(row))
    found = [refund_row(sorted(stream, key=_version)) for stream in streams.values()]
    rows = [row for row in found if row is not None]
    if rows:
        await conn.execute(_UPSERT.format(table=table), [list(column) for column in zip(*rows, strict=True)])


def _version(record: RecordedEvent) -> int:
    return record.version

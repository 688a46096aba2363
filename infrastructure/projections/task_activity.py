"""task_activity: per owner and UTC day, how many tasks were created, completed and deleted (asynchronous)."""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.records import RecordedEvent
from domain import tasks

NAME = "task_activity"
_COUNTED = {"TaskCreated": "created", "TaskCompleted": "completed", "TaskDeleted": "deleted"}

_UPSERT = """
INSERT INTO {table} AS a (owner_id, day, created, completed, deleted)
SELECT * FROM unnest(%s::uuid[], %s::date[], %s::bigint[], %s::bigint[], %s::bigint[])
ORDER BY 1, 2
ON CONFLICT (owner_id, day) DO UPDATE SET
    created = a.created + excluded.created,
    completed = a.completed + excluded.completed,
    deleted = a.deleted + excluded.deleted
"""


async def owners_of(conn: psycopg.AsyncConnection[TupleRow], stream_ids: Sequence[UUID]) -> dict[UUID, UUID]:
    """Each task's owner, from its TaskCreated (the log keeps it forever; read tables may not)."""
    cursor = await conn.execute(
        "SELECT stream_id, (data->>'ownerId')::uuid FROM events WHERE stream_id = ANY(%s) AND version = 1",
        (list(set(stream_ids)),),
    )
    owners: dict[UUID, UUID] = dict(await cursor.fetchall())
    return owners


def counts(records: Sequence[RecordedEvent], owners: dict[UUID, UUID]) -> Counter[tuple[UUID, date, str]]:
    """(owner, UTC day, created|completed|deleted) -> how many; a task created completed counts both."""
    counted: Counter[tuple[UUID, date, str]] = Counter()
    for record in records:
        owner = owners.get(record.stream_id)
        if record.stream_type != tasks.STREAM_TYPE or owner is None or record.type not in _COUNTED:
            continue
        day = record.recorded_at.astimezone(UTC).date()
        counted[(owner, day, _COUNTED[record.type])] += 1
        if record.type == "TaskCreated" and record.data.get("status") == "COMPLETED":
            counted[(owner, day, "completed")] += 1
    return counted


class TaskActivity:
    name = NAME

    def __init__(self, table: str = NAME) -> None:
        self._table = table

    async def handle(self, conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent]) -> None:
        task_records = [r for r in records if r.stream_type == tasks.STREAM_TYPE and r.type in _COUNTED]
        if not task_records:
            return
        owners = await owners_of(conn, [r.stream_id for r in task_records])
        counted = counts(task_records, owners)
        keys = sorted({(owner, day) for owner, day, _ in counted}, key=str)
        await conn.execute(
            _UPSERT.format(table=self._table),
            (
                [owner for owner, _ in keys],
                [day for _, day in keys],
                [counted[(owner, day, "created")] for owner, day in keys],
                [counted[(owner, day, "completed")] for owner, day in keys],
                [counted[(owner, day, "deleted")] for owner, day in keys],
            ),
        )

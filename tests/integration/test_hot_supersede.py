"""Superseding a task's row version is a HOT update: a change writes index entries for its new version only."""

from datetime import UTC, datetime
from uuid import uuid4

import psycopg

from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.postgres.event_store import PostgresEventStore

COUNTS = (
    "SELECT pg_stat_get_xact_tuples_updated('tasks_view'::regclass),"
    " pg_stat_get_xact_tuples_hot_updated('tasks_view'::regclass)"
)


async def test_superseding_a_version_touches_no_index(database_url: str) -> None:
    metadata = EventMetadata(actor_id="test")
    owner = uuid4()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        store = PostgresEventStore(conn)
        task_ids = [uuid4() for _ in range(20)]
        created = [
            StreamAppend(i, tasks.STREAM_TYPE, 0, [tasks.TaskCreated(owner_id=owner, title="t", fee=None)])
            for i in task_ids
        ]
        await store.append(created, metadata, datetime.now(UTC))
        await store.flush()
        await conn.commit()
        for round_ in range(3):  # a version superseded, then its successor, and so on
            changes = [
                StreamAppend(i, tasks.STREAM_TYPE, 1 + round_, [tasks.TaskUpdated(title=f"t{round_}")])
                for i in task_ids
            ]
            await store.append(changes, metadata, datetime.now(UTC))
            await store.flush()
        cursor = await conn.execute(COUNTS)  # this transaction's own counts
        updated, hot = await cursor.fetchone() or (0, 0)
        await conn.rollback()
    assert updated == 60
    assert hot == 60, "every supersede was a heap-only tuple update"

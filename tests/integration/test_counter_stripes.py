"""An owner's task counters are striped by task id: two open transactions of one owner that change tasks in
different stripes do not wait for each other's commit (in the same stripe they do, as before the stripes)."""

import asyncio
from contextlib import nullcontext
from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.rows import TupleRow

from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.postgres.event_store import PostgresEventStore

STRIPES = 16


def task_id_in(stripe: int) -> UUID:
    """A random task id whose stripe (`task_counter_stripe`: the last byte modulo 16) is `stripe`."""
    while (task_id := uuid4()).bytes[-1] % STRIPES != stripe:
        pass
    return task_id


async def create(conn: psycopg.AsyncConnection[TupleRow], owner: UUID, task_id: UUID) -> None:
    """Write a task's creation in the connection's open transaction (its counter stripe stays locked)."""
    store = PostgresEventStore(conn)
    created = tasks.TaskCreated(owner_id=owner, title="striped", fee=None)
    await store.append([StreamAppend(task_id, tasks.STREAM_TYPE, 0, [created])], EventMetadata(), datetime.now(UTC))
    await store.flush()


@pytest.mark.parametrize(("second_stripe", "waits"), [(3, False), (7, True)])
async def test_creates_in_another_stripe_do_not_wait(database_url: str, second_stripe: int, waits: bool) -> None:
    owner = uuid4()
    async with (
        await psycopg.AsyncConnection.connect(database_url) as first,
        await psycopg.AsyncConnection.connect(database_url) as second,
    ):
        await create(first, owner, task_id_in(7))
        with pytest.raises(TimeoutError) if waits else nullcontext():
            await asyncio.wait_for(create(second, owner, task_id_in(second_stripe)), timeout=1.0)
        await second.rollback() if waits else await second.commit()
        await first.commit()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT stripe, total, pending FROM task_counters WHERE owner_id = %s ORDER BY stripe", (owner,)
        )
        counted = await cursor.fetchall()
    assert counted == ([(7, 1, 1)] if waits else [(3, 1, 1), (7, 1, 1)])

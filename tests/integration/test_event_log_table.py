"""The events table itself: append-only, one row per (stream, version), the writing transaction recorded."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.rows import TupleRow

from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork

OWNER = UUID("00000000-0000-4000-8000-00000000000a")
AT = datetime(2030, 1, 1, tzinfo=UTC)


async def append_tasks(pool: Pool, *streams: UUID, events_each: int = 1) -> None:
    """One append: a new task stream per id, each with `events_each` events."""
    events: list[tasks.TaskEvent] = [tasks.TaskCreated(owner_id=OWNER, title="Logged", fee=None)]
    events += [tasks.TaskUpdated(title=f"Logged {n}") for n in range(2, events_each + 1)]
    async with PostgresUnitOfWork(pool) as uow:
        await uow.events.append(
            [StreamAppend(stream_id, tasks.STREAM_TYPE, 0, list(events)) for stream_id in streams],
            EventMetadata(actor_id=str(OWNER)),
            AT,
        )


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[TupleRow]]:
    """A raw connection in autocommit, as a tool or an operator would use."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        yield conn


async def rows(conn: psycopg.AsyncConnection[TupleRow]) -> list[TupleRow]:
    cursor = await conn.execute("SELECT * FROM events ORDER BY position")
    return await cursor.fetchall()


class TestAppendOnly:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE events SET type = 'TaskDeleted'",
            "UPDATE events SET data = '{}'::jsonb WHERE version = 1",
            "DELETE FROM events",
            "DELETE FROM events WHERE version = 1",
            "TRUNCATE events",
        ],
    )
    async def test_the_trigger_refuses_changes(
        self, pool: Pool, connection: psycopg.AsyncConnection[TupleRow], statement: str
    ) -> None:
        await append_tasks(pool, uuid4(), uuid4())
        before = await rows(connection)

        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            await connection.execute(statement)

        assert await rows(connection) == before
        assert len(before) == 2

    async def test_changes_are_refused_inside_a_transaction_too(
        self, pool: Pool, connection: psycopg.AsyncConnection[TupleRow]
    ) -> None:
        await append_tasks(pool, uuid4())
        before = await rows(connection)

        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            async with connection.transaction():
                await connection.execute("DELETE FROM events")

        assert await rows(connection) == before


class TestStreamVersionUnique:
    async def test_a_second_event_at_the_same_version_is_refused(
        self, pool: Pool, connection: psycopg.AsyncConnection[TupleRow]
    ) -> None:
        stream_id = uuid4()
        await append_tasks(pool, stream_id)
        before = await rows(connection)

        with pytest.raises(psycopg.errors.UniqueViolation) as raised:
            await connection.execute(
                "INSERT INTO events (stream_id, stream_type, version, type, data, metadata, recorded_at, hash)"
                " VALUES (%s, 'task', 1, 'TaskDeleted', '{}', '{}', now(), '\\x00')",
                (stream_id,),
            )

        assert raised.value.diag.constraint_name == "events_stream_version_key"
        assert await rows(connection) == before

    async def test_the_same_version_in_different_streams_is_fine(
        self, pool: Pool, connection: psycopg.AsyncConnection[TupleRow]
    ) -> None:
        await append_tasks(pool, uuid4(), uuid4(), uuid4())

        cursor = await connection.execute("SELECT count(*) FROM events WHERE version = 1")
        assert await cursor.fetchone() == (3,)


class TestTransactionId:
    async def test_the_column_is_xid8_and_filled(
        self, pool: Pool, connection: psycopg.AsyncConnection[TupleRow]
    ) -> None:
        await append_tasks(pool, uuid4())

        cursor = await connection.execute(
            "SELECT pg_typeof(transaction_id)::text, transaction_id IS NOT NULL FROM events"
        )
        assert await cursor.fetchall() == [("xid8", True)]

    async def test_every_event_of_one_append_shares_it(
        self, pool: Pool, connection: psycopg.AsyncConnection[TupleRow]
    ) -> None:
        await append_tasks(pool, uuid4(), uuid4(), uuid4(), events_each=3)
        await append_tasks(pool, uuid4())

        cursor = await connection.execute(
            "SELECT transaction_id::text, count(*) FROM events GROUP BY transaction_id ORDER BY transaction_id"
        )
        groups = await cursor.fetchall()
        assert [count for _, count in groups] == [9, 1]

    async def test_it_is_the_writing_transaction(self, connection: psycopg.AsyncConnection[TupleRow]) -> None:
        async with connection.transaction():
            cursor = await connection.execute(
                "INSERT INTO events (stream_id, stream_type, version, type, data, metadata, recorded_at, hash)"
                " VALUES (%s, 'task', 1, 'TaskCreated', '{}', '{}', now(), '\\x00')"
                " RETURNING transaction_id = pg_current_xact_id()",
                (uuid4(),),
            )
            assert await cursor.fetchone() == (True,)

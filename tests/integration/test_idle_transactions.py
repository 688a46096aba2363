"""A transaction left idle past its bound is ended by PostgreSQL, with its locks: a process that stops answering in
the middle of one (a worker whose host vanished during a gateway call) cannot hold a refund's row for good."""

import asyncio
from datetime import UTC, datetime
from uuid import UUID, uuid4

import msgspec
import psycopg
import pytest
from psycopg.rows import TupleRow

from application.errors import ServiceUnavailable
from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.bootstrap import open_runtime
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.settings import Settings

Connection = psycopg.AsyncConnection[TupleRow]


async def lock_then_idle(stalled: Connection, other: Connection) -> None:
    async with stalled.transaction():
        await stalled.execute("LOCK TABLE task_counters IN ACCESS EXCLUSIVE MODE")
        await asyncio.sleep(1.5)
        # The lock went with the session: another connection takes it at once.
        async with other.transaction():
            await other.execute("SET LOCAL lock_timeout = '1s'")
            await other.execute("LOCK TABLE task_counters IN ACCESS EXCLUSIVE MODE")
        await stalled.execute("SELECT 1")


async def test_an_idle_transaction_is_ended_and_its_locks_freed(database_url: str) -> None:
    async with open_pool(database_url, size=2, checkout_seconds=5.0, idle_in_transaction_seconds=0.5) as pool:
        async with pool.connection() as stalled, pool.connection() as other:
            with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
                await lock_then_idle(stalled, other)
        async with pool.connection() as fresh:  # the pool replaced the ended connection
            cursor = await fresh.execute("SELECT 1")
            assert await cursor.fetchone() == (1,)


async def append_then_idle(pool: Pool, stream: UUID) -> None:
    """A unit of work that holds a transaction (a lock, as a refund attempt does) and then stalls."""
    async with PostgresUnitOfWork(pool) as uow:
        assert await uow.try_lock(uuid4())
        created = tasks.TaskCreated(owner_id=uuid4(), title="never", fee=None)
        append = StreamAppend(stream, tasks.STREAM_TYPE, 0, [created])
        await uow.events.append([append], EventMetadata(), datetime.now(UTC))
        await asyncio.sleep(1.5)


async def test_a_unit_of_work_ended_so_is_unavailable_and_commits_nothing(database_url: str) -> None:
    async with open_pool(database_url, size=1, checkout_seconds=5.0, idle_in_transaction_seconds=0.5) as pool:
        stream = uuid4()
        with pytest.raises(ServiceUnavailable):
            await append_then_idle(pool, stream)
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT count(*) FROM events WHERE stream_id = %s", (stream,))
            assert await cursor.fetchone() == (0,)


async def test_the_runtime_bounds_idle_transactions_by_the_longest_legitimate_pause(settings: Settings) -> None:
    """The longest a transaction of ours waits on something else is a refund's gateway call (the attempt is
    recorded in the transaction around it), plus one statement."""
    configured = msgspec.structs.replace(settings, refund_gateway_timeout_seconds=7.0, database_timeout_seconds=2.0)
    async with open_runtime(configured) as runtime, runtime.pool.connection() as conn:
        cursor = await conn.execute("SHOW idle_in_transaction_session_timeout")
        assert await cursor.fetchone() == ("9s",)

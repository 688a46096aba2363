"""A batch of task commands is one transaction and a fixed number of SQL statements, whatever its size."""

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Self
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import AsyncCursor, sql
from psycopg.abc import Params, Query
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from application.batch import BatchAction, BatchItem, BatchTasks, batch_tasks
from application.context import Actor, RequestContext
from application.records import EventMetadata, StreamAppend
from domain import tasks
from domain.values import Role, TaskStatus
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.settings import Settings
from tests.integration.wiring import deps_over

OWNER = Actor(user_id=UUID("00000000-0000-4000-8000-0000000000b1"), role=Role.USER)
CONTEXT = RequestContext(actor=OWNER, request_id="batch-test")
SMALL, LARGE = 10, 1000

# The statements the current task runs, while a test records them.
_recording: ContextVar[list[str] | None] = ContextVar("recording", default=None)


def _record(query: Query, times: int = 1) -> None:
    statements = _recording.get()
    if statements is not None:
        statements.extend([query.decode() if isinstance(query, bytes) else str(query)] * times)


class CountingCursor(AsyncCursor[TupleRow]):
    """A cursor that records every statement it sends (connection.execute goes through one too)."""

    async def execute(
        self, query: Query, params: Params | None = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Self:
        _record(query)
        if isinstance(query, str | bytes | sql.SQL | sql.Composed):
            return await super().execute(query, params, prepare=prepare, binary=binary)
        return await super().execute(query, prepare=prepare, binary=binary)

    async def executemany(self, query: Query, params_seq: Iterable[Params], *, returning: bool = False) -> None:
        rows = list(params_seq)
        _record(query, len(rows))  # one statement per row on the wire, even pipelined
        await super().executemany(query, rows, returning=returning)


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    statements: list[str] = []
    token = _recording.set(statements)
    try:
        yield statements
    finally:
        _recording.reset(token)


async def _count_statements(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    conn.cursor_factory = CountingCursor


@pytest.fixture
async def counting_pool(database_url: str) -> AsyncIterator[Pool]:
    pool: Pool = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=2,
        timeout=5.0,
        open=False,
        configure=_count_statements,
        kwargs={"autocommit": True, "connect_timeout": 5},
    )
    await pool.open(wait=True, timeout=5.0)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def deps(counting_pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(counting_pool, settings) as wired:
        yield wired


async def given_tasks(pool: Pool, count: int) -> list[UUID]:
    """`count` pending tasks of OWNER, written in one append."""
    task_ids = [uuid4() for _ in range(count)]
    async with PostgresUnitOfWork(pool) as uow:
        await uow.events.append(
            [
                StreamAppend(
                    task_id, tasks.STREAM_TYPE, 0, [tasks.TaskCreated(owner_id=OWNER.user_id, title=f"T{n}", fee=None)]
                )
                for n, task_id in enumerate(task_ids)
            ],
            EventMetadata(actor_id=str(OWNER.user_id)),
            datetime.now(UTC),
        )
    return task_ids


async def run_batch(deps: Dependencies, action: BatchAction, task_ids: list[UUID]) -> list[str]:
    """Run the batch, check every item succeeded, and return the statements it sent."""
    with recorded_statements() as statements:
        results = await batch_tasks(BatchTasks(action=action, task_ids=task_ids), CONTEXT, deps.tasks)
    assert results == [BatchItem(task_id) for task_id in task_ids]
    return statements


class TestBatchStatements:
    @pytest.mark.parametrize("action", list(BatchAction))
    async def test_the_statement_count_does_not_grow_with_the_batch(
        self, counting_pool: Pool, deps: Dependencies, action: BatchAction
    ) -> None:
        small = await given_tasks(counting_pool, SMALL)
        large = await given_tasks(counting_pool, LARGE)

        small_statements = await run_batch(deps, action, small)
        large_statements = await run_batch(deps, action, large)

        assert 0 < len(small_statements) <= 6, small_statements
        assert len(large_statements) == len(small_statements), large_statements

    async def test_a_batch_of_a_thousand_completions_is_one_transaction(
        self, counting_pool: Pool, deps: Dependencies
    ) -> None:
        task_ids = await given_tasks(counting_pool, LARGE)

        await run_batch(deps, BatchAction.COMPLETE, task_ids)

        async with counting_pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*), count(DISTINCT transaction_id) FROM events"
                " WHERE type = 'TaskCompleted' AND stream_id = ANY(%s)",
                (list(task_ids),),
            )
            assert await cursor.fetchone() == (LARGE, 1)
            cursor = await conn.execute(
                "SELECT count(*) FROM events WHERE transaction_id ="
                " (SELECT transaction_id FROM events WHERE type = 'TaskCompleted' LIMIT 1)"
            )
            assert await cursor.fetchone() == (LARGE,)
            cursor = await conn.execute(
                "SELECT status, version, count(*) FROM tasks_view WHERE id = ANY(%s) AND valid_to IS NULL"
                " GROUP BY status, version",
                (list(task_ids),),
            )
            assert await cursor.fetchall() == [(TaskStatus.COMPLETED.value, 2, LARGE)]

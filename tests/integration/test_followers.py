"""Log followers: gap-free reading in commit order, exactly-once checkpoints, and the activity projection."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from uuid import uuid4

import psycopg
import pytest
from psycopg.rows import TupleRow

from application.context import Actor, RequestContext
from application.projections.registry import TASK_ACTIVITY
from application.records import EventMetadata, RecordedEvent, StreamAppend
from application.tasks import CreateTask, DeleteTask, TaskChanges, UpdateTask, create_task, delete_task, update_task
from domain import tasks
from domain.values import Role, TaskStatus
from infrastructure.bootstrap import Dependencies
from infrastructure.clock import SystemClock
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.settings import Settings
from tests.integration.wiring import deps_over


class Collector:
    """A follower that remembers what it was given."""

    def __init__(self, name: str = "collector") -> None:
        self.name = name
        self.seen: list[int] = []

    async def handle(self, conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent]) -> None:
        self.seen += [record.position for record in records]


async def drain(pool: Pool, follower: Collector | ProjectionFollower, size: int = 3) -> None:
    while await run_batch(pool, follower, size):
        pass


def one_task(title: str) -> StreamAppend:
    # A new owner each time: one owner's writes queue on its counters row, which this test must not hold.
    return StreamAppend(uuid4(), tasks.STREAM_TYPE, 0, [tasks.TaskCreated(owner_id=uuid4(), title=title, fee=None)])


class TestGapFree:
    async def test_a_transaction_committing_late_is_not_skipped(self, pool: Pool) -> None:
        follower = Collector()
        metadata = EventMetadata()
        async with PostgresUnitOfWork(pool) as first:
            await first.events.append([one_task("first")], metadata, SystemClock().now())
        slow = PostgresUnitOfWork(pool)
        await slow.__aenter__()
        # A transaction that wrote first (an idempotent command claims its key) and appends last.
        await slow.idempotency.claim(uuid4(), "key", b"fingerprint", SystemClock().now(), SystemClock().now())
        await slow.events.append([one_task("slow, begun early")], metadata, SystemClock().now())
        for title in ("later", "later still"):
            async with PostgresUnitOfWork(pool) as later:
                await later.events.append([one_task(title)], metadata, SystemClock().now())
        await drain(pool, follower)
        assert len(follower.seen) == 1, "nothing past the open transaction is read"
        await slow.__aexit__(None, None, None)
        await drain(pool, follower)
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT position FROM events ORDER BY transaction_id, position")
            in_commit_order = [row[0] for row in await cursor.fetchall()]
        assert follower.seen == in_commit_order
        assert len(set(follower.seen)) == 4

    async def test_many_concurrent_writers_are_seen_exactly_once(self, pool: Pool) -> None:
        follower = Collector()

        async def write(n: int) -> None:
            async with PostgresUnitOfWork(pool) as unit:
                await unit.events.append([one_task(f"t{n}")], EventMetadata(), SystemClock().now())
                await asyncio.sleep(0.01 * (n % 3))  # commit out of order

        async def follow_while_writing() -> None:
            for _ in range(20):
                await run_batch(pool, follower, 2)
                await asyncio.sleep(0.005)

        await asyncio.gather(follow_while_writing(), *(write(n) for n in range(12)))
        await drain(pool, follower)
        assert len(follower.seen) == len(set(follower.seen)) == 12


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


async def log_counts(pool: Pool) -> Counter[tuple[str, str]]:
    """(owner, kind) counted straight from the log, the way the projection must."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT c.data->>'ownerId', e.type, e.version, e.data->>'status' FROM events e"
            " JOIN events c ON c.stream_id = e.stream_id AND c.version = 1 WHERE e.stream_type = 'task'"
        )
        counted: Counter[tuple[str, str]] = Counter()
        for owner, type_, _, status in await cursor.fetchall():
            kind = {"TaskCreated": "created", "TaskCompleted": "completed", "TaskDeleted": "deleted"}.get(type_)
            if kind:
                counted[(owner, kind)] += 1
            if type_ == "TaskCreated" and status == "COMPLETED":
                counted[(owner, "completed")] += 1
        return counted


async def activity_counts(pool: Pool) -> Counter[tuple[str, str]]:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT owner_id::text, created, completed, deleted FROM task_activity")
        counted: Counter[tuple[str, str]] = Counter()
        for owner, created, completed, deleted in await cursor.fetchall():
            for kind, n in (("created", created), ("completed", completed), ("deleted", deleted)):
                if n:
                    counted[(owner, kind)] += n
        return counted


class TestActivity:
    async def test_the_projection_equals_counting_the_log(self, pool: Pool, deps: Dependencies) -> None:
        owners = [RequestContext(actor=Actor(uuid4(), Role.USER), request_id="t") for _ in range(2)]
        ids = []
        for n in range(9):
            status = TaskStatus.COMPLETED if n % 4 == 0 else TaskStatus.PENDING
            ids.append((await create_task(CreateTask(f"t{n}", status=status), owners[n % 2], deps.tasks)).id)
        activity = ProjectionFollower(TASK_ACTIVITY)
        await drain(pool, activity)  # part of the log, then more
        for n, task_id in enumerate(ids):
            ctx = owners[n % 2]
            if n % 3 == 0:
                await delete_task(DeleteTask(task_id), ctx, deps.tasks)
            elif n % 3 == 1:
                await update_task(UpdateTask(task_id, TaskChanges(status=TaskStatus.COMPLETED)), ctx, deps.tasks)
        await drain(pool, activity)
        await drain(pool, activity)  # nothing twice
        assert await activity_counts(pool) == await log_counts(pool)

"""The overdue check on PostgreSQL: due tasks found by index and held with SKIP LOCKED, so racing schedulers mark
each task once (and the stream versions would even without the locks); a batch broken off leaves nothing; a
scheduler that was down catches up when it starts; due-date changes; the caches are told."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
import redis.asyncio as aioredis

from application.context import Actor, RequestContext
from application.errors import ServiceUnavailable
from application.overdue import SCHEDULER_ACTOR, OverdueCheck, mark_overdue_tasks
from application.queries import task_stats
from application.tasks import TaskChanges, UpdateTask, update_task
from domain.values import Role
from infrastructure.bootstrap import Dependencies
from infrastructure.clock import RandomIds
from infrastructure.postgres.due_tasks import PostgresOverdueUnitOfWork
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.processes.scheduler import check_overdue_every
from infrastructure.redis.cache import NoCache, TaskCache
from infrastructure.redis.guard import RedisGuard
from infrastructure.settings import Settings
from tests.clock import ManualClock
from tests.integration.test_refund_jobs import eventually
from tests.integration.wiring import deps_over, overdue_check
from tests.overdue_tasks import assert_read_side_agrees_with_the_log, falling_due, overdue_events

DUE = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
OWNER = UUID("00000000-0000-4000-8000-00000000a11e")


@pytest.fixture
async def other_pool(database_url: str) -> AsyncIterator[Pool]:
    """A second scheduler's connections."""
    async with open_pool(database_url, size=4, checkout_seconds=5.0) as opened:
        yield opened


class TestRacingSchedulers:
    async def test_each_task_is_marked_once_and_both_share_the_work(self, pool: Pool, other_pool: Pool) -> None:
        task_ids = await falling_due(pool, OWNER, [DUE + timedelta(seconds=n) for n in range(3000)])
        clock = ManualClock(DUE + timedelta(hours=1))
        first, second = await asyncio.gather(
            mark_overdue_tasks(overdue_check(pool, clock, batch_size=200)),
            mark_overdue_tasks(overdue_check(other_pool, clock, batch_size=200)),
        )
        assert first + second == 3000
        assert first > 0
        assert second > 0
        assert await overdue_events(pool) == dict.fromkeys(task_ids, 1)
        await assert_read_side_agrees_with_the_log(pool, task_ids)

    async def test_without_the_row_locks_the_stream_versions_still_allow_one_event(
        self, pool: Pool, other_pool: Pool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Both schedulers take the same tasks (no SKIP LOCKED); one append per task wins its stream's version, the
        other batch fails whole and, taken again, finds nothing left to mark."""
        monkeypatch.setattr(
            "infrastructure.postgres.due_tasks.DUE_TASKS",
            "SELECT id FROM task_deadlines WHERE due_date < %s ORDER BY due_date LIMIT %s",
        )
        task_ids = await falling_due(pool, OWNER, [DUE + timedelta(seconds=n) for n in range(400)])
        clock = ManualClock(DUE + timedelta(hours=1))
        marked = await asyncio.gather(
            *(mark_overdue_tasks(overdue_check(p, clock, batch_size=100)) for p in (pool, other_pool, pool))
        )
        assert sum(marked) == 400
        assert await overdue_events(pool) == dict.fromkeys(task_ids, 1)
        await assert_read_side_agrees_with_the_log(pool, task_ids)


class TerminatedBeforeItsAppend(PostgresOverdueUnitOfWork):
    """A batch whose session is ended (as a dying scheduler's would be) after it took its tasks, before its append."""

    def __init__(self, pool: Pool, database_url: str) -> None:
        super().__init__(pool)
        self._database_url = database_url

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._conn is not None
        async with await psycopg.AsyncConnection.connect(self._database_url, autocommit=True) as killer:
            await killer.execute("SELECT pg_terminate_backend(%s)", (self._conn.info.backend_pid,))
        await super().__aexit__(exc_type, exc, tb)


class TestABatchBrokenOff:
    async def test_leaves_nothing_and_the_next_run_marks_its_tasks(self, pool: Pool, database_url: str) -> None:
        task_ids = await falling_due(pool, OWNER, [DUE + timedelta(seconds=n) for n in range(50)])
        clock = ManualClock(DUE + timedelta(hours=1))
        broken = OverdueCheck(lambda: TerminatedBeforeItsAppend(pool, database_url), clock, RandomIds(), NoCache())
        with pytest.raises(ServiceUnavailable):
            await mark_overdue_tasks(broken)
        assert await overdue_events(pool) == {}
        await assert_read_side_agrees_with_the_log(pool, task_ids)
        assert await mark_overdue_tasks(overdue_check(pool, clock)) == 50
        await assert_read_side_agrees_with_the_log(pool, task_ids)


class TestCatchingUp:
    async def test_a_scheduler_down_for_a_day_marks_what_fell_due_as_it_starts(self, pool: Pool) -> None:
        day = [DUE + timedelta(minutes=15 * n) for n in range(96)]
        task_ids = await falling_due(pool, OWNER, [*day, DUE + timedelta(days=2)])
        clock = ManualClock(DUE + timedelta(days=1, minutes=1))
        stop = asyncio.Event()

        async def marked(count: int) -> bool:
            return len(await overdue_events(pool)) >= count

        loop = asyncio.create_task(check_overdue_every(overdue_check(pool, clock), 3600.0, stop))
        try:
            await eventually(lambda: marked(len(day)))
        finally:
            stop.set()
            await loop
        assert set(await overdue_events(pool)) == set(task_ids[: len(day)]), "all of the day's, none of the next"
        await assert_read_side_agrees_with_the_log(pool, task_ids)
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT DISTINCT recorded_at, metadata->>'actorId' FROM events WHERE type = 'TaskBecameOverdue'"
            )
            assert await cursor.fetchall() == [(clock.now(), SCHEDULER_ACTOR)], "one run, when it started"


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


class TestDueDateChanges:
    async def test_later_ends_it_until_the_new_date_passes_and_earlier_keeps_it(
        self, pool: Pool, deps: Dependencies
    ) -> None:
        (task_id,) = await falling_due(pool, OWNER, [DUE])
        owner = RequestContext(actor=Actor(OWNER, Role.USER), request_id="test")
        clock = ManualClock(DUE + timedelta(minutes=1))

        async def overdue() -> bool:
            view = await deps.task_reads.tasks.get(task_id)
            assert view is not None
            return view.overdue

        async def due_at(moment: datetime) -> None:
            await update_task(UpdateTask(task_id, TaskChanges(due_date=moment)), owner, deps.tasks)

        assert await mark_overdue_tasks(overdue_check(pool, clock)) == 1
        assert await overdue()
        later = DUE + timedelta(days=1)
        await due_at(later)
        assert not await overdue()
        assert await mark_overdue_tasks(overdue_check(pool, clock)) == 0
        clock.set(later + timedelta(seconds=1))
        assert await mark_overdue_tasks(overdue_check(pool, clock)) == 1
        await due_at(DUE - timedelta(days=3))
        assert await overdue()
        assert await mark_overdue_tasks(overdue_check(pool, clock)) == 0
        assert await overdue_events(pool) == {task_id: 2}
        await assert_read_side_agrees_with_the_log(pool, [task_id])


class TestCaches:
    async def test_a_run_makes_the_cached_stats_and_task_stale(
        self, pool: Pool, settings: Settings, redis: aioredis.Redis
    ) -> None:
        """The check bumps the generations after its commit, as the API's handlers do: a stats read cached
        before it is not served after it (no cache backstop runs here)."""
        async with deps_over(pool, settings) as deps:
            owner = RequestContext(actor=Actor(OWNER, Role.USER), request_id="test")
            (task_id,) = await falling_due(pool, OWNER, [DUE])
            assert (await task_stats(None, owner, deps.task_reads)).overdue == 0
            assert (await task_stats(None, owner, deps.task_reads)).overdue == 0, "cached"
            cache = TaskCache(RedisGuard(redis, 0.25), settings.redis_namespace, 1)
            check = OverdueCheck(
                lambda: PostgresOverdueUnitOfWork(pool), ManualClock(DUE + timedelta(seconds=1)), RandomIds(), cache
            )
            assert await mark_overdue_tasks(check) == 1
            assert (await task_stats(None, owner, deps.task_reads)).overdue == 1
            view = await deps.task_reads.tasks.get(task_id)
            assert view is not None
            assert view.overdue

"""Rebuilds: from the log beside the live tables, swapped in whole; equal to the live tables, also under load."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from psycopg import sql

from application.context import Actor, RequestContext
from application.errors import ApplicationError, InvalidInput
from application.overdue import mark_overdue_tasks
from application.payments import AttemptRefund, attempt_refund
from application.projections.registry import BY_NAME, TASK_ACTIVITY, TASKS_VIEW
from application.projections.tables import TaskRow
from application.queries import ListTasks, list_tasks
from application.refunds import request_refund
from application.streams import Stream
from application.tasks import CreateTask, DeleteTask, TaskChanges, UpdateTask, create_task, delete_task, update_task
from application.users import RegisterUser, register_user
from domain import tasks
from domain.refunds import RetryPolicy
from domain.values import Money, Priority, Role, TaskStatus
from infrastructure.bootstrap import Dependencies, payments
from infrastructure.gateway import SimulatedGateway
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.postgres.rebuild import rebuild
from infrastructure.settings import Settings
from tests.clock import ManualClock
from tests.e2e.processes import base_environment, run_taskflow
from tests.integration.test_followers import activity_counts, log_counts
from tests.integration.wiring import deps_over, overdue_check

NOBODY = RequestContext(actor=None, request_id="test")
CURRENT_TASKS = (
    "SELECT id, owner_id, title, description, status, priority, due_date, overdue, fee_amount, fee_currency, version,"
    " created_at, updated_at FROM tasks_view WHERE valid_to IS NULL ORDER BY id"
)


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


async def rows(pool: Pool, query: str) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(query)
        return await cursor.fetchall()


async def snapshot(pool: Pool) -> dict[str, Any]:
    return {
        "tasks": await rows(pool, CURRENT_TASKS),
        "counters": await rows(pool, "SELECT * FROM task_counters WHERE total <> 0 ORDER BY owner_id, stripe"),
        "deadlines": await rows(pool, "SELECT * FROM task_deadlines ORDER BY id"),
        "users": await rows(pool, "SELECT * FROM users_view ORDER BY id"),
        "refunds": await rows(pool, "SELECT * FROM refunds_view ORDER BY id"),
        "storage": await rows(
            pool,
            "SELECT relname, reloptions FROM pg_class WHERE relname IN"
            " ('tasks_view', 'task_counters', 'task_deadlines', 'users_view', 'refunds_view') ORDER BY 1",
        ),
        "indexes": await rows(
            pool,
            "SELECT tablename, indexname FROM pg_indexes WHERE tablename IN"
            " ('tasks_view', 'task_counters', 'task_deadlines', 'users_view', 'refunds_view') ORDER BY 1, 2",
        ),
        "keys": await rows(
            pool,
            "SELECT conrelid::regclass::text, conname, contype FROM pg_constraint WHERE conrelid::regclass::text IN"
            " ('tasks_view', 'task_counters', 'task_deadlines', 'users_view', 'refunds_view') ORDER BY 1, 2",
        ),
    }


PAYING = (SimulatedGateway(), RetryPolicy(1.0, 10.0, 3), lambda: 0.0)


async def some_history(deps: Dependencies, n: int = 12) -> None:
    owners = []
    for i in range(2):
        session = await register_user(
            RegisterUser(f"o{i}-{uuid4()}@example.com", "O", "long enough"), NOBODY, deps.users
        )
        owners.append(RequestContext(actor=Actor(session.user.id, Role.USER), request_id="t"))
    for i in range(n):
        ctx = owners[i % 2]
        fee = Money(amount=100 + i, currency="EUR") if i % 4 != 2 else None
        task = await create_task(CreateTask(f"t{i}", priority=list(Priority)[i % 3], fee=fee), ctx, deps.tasks)
        if i % 4 == 1:
            refund = await request_refund(task.id, ctx, deps.tasks)
            await attempt_refund(AttemptRefund(refund.id, 1), payments(deps, *PAYING))
        if i % 3 == 0:
            changes = TaskChanges(title=f"t{i}!", status=TaskStatus.COMPLETED)
            await update_task(UpdateTask(task.id, changes), ctx, deps.tasks)
        if i % 4 == 0:
            await delete_task(DeleteTask(task.id), ctx, deps.tasks)


class TestRebuild:
    async def test_a_rebuild_equals_the_live_tables(self, deps: Dependencies, pool: Pool, database_url: str) -> None:
        await some_history(deps)
        live = await snapshot(pool)
        assert await rebuild(database_url, "tasks_view") > 0
        assert await rebuild(database_url, "users_view") > 0
        assert await rebuild(database_url, "refunds_view") > 0
        assert await snapshot(pool) == live
        assert live["refunds"]

    @pytest.mark.parametrize("batch", [1, 2, 3, 7])
    async def test_streams_cut_by_a_batch_are_folded_whole(
        self, deps: Dependencies, pool: Pool, database_url: str, batch: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Streams of 1 to 3 events read `batch` events at a time: some end on a batch's edge, some cross it, and
        the log ends once on a full batch and once not (the bulk load carries a cut stream to the next batch)."""
        await some_history(deps, 6)
        live = await snapshot(pool)
        monkeypatch.setattr("infrastructure.postgres.rebuild.bulk_load.BATCH", batch)
        await rebuild(database_url, "tasks_view")
        await rebuild(database_url, "users_view")
        await rebuild(database_url, "refunds_view")
        assert await snapshot(pool) == live

    async def test_text_the_wire_formats_escape_comes_back_unchanged(
        self, deps: Dependencies, pool: Pool, database_url: str
    ) -> None:
        """The bulk load reads events as JSON text and COPYs rows in binary: backslashes, quotes, JSON
        escapes written out, characters beyond the BMP and a due date survive it, also when the database's
        time zone is not UTC (events' times are read as JSON text, in the session's zone)."""
        async with pool.connection() as conn:
            await conn.execute(
                sql.SQL("ALTER DATABASE {} SET timezone = 'America/St_Johns'").format(
                    sql.Identifier(urlsplit(database_url).path.lstrip("/"))
                )
            )
        session = await register_user(
            RegisterUser(f"o-{uuid4()}@example.com", 'Zoë "Ω" \\ 𝄞', "long enough"), NOBODY, deps.users
        )
        ctx = RequestContext(actor=Actor(session.user.id, Role.USER), request_id="t")
        due = datetime(2031, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-9, minutes=-30)))
        await create_task(
            CreateTask(
                'back\\slash \\n \\u0041 "quoted" \\\\ 🎉',
                description='tab\\t, ünïcödé, 漢字, \\"',
                due_date=due,
                fee=Money(amount=10**12, currency="JPY"),
            ),
            ctx,
            deps.tasks,
        )
        live = await snapshot(pool)
        await rebuild(database_url, "tasks_view")
        await rebuild(database_url, "users_view")
        assert await snapshot(pool) == live
        title, description, due_date = (await rows(pool, "SELECT title, description, due_date FROM tasks_view"))[0]
        assert (title, description, due_date) == (
            'back\\slash \\n \\u0041 "quoted" \\\\ 🎉',
            'tab\\t, ünïcödé, 漢字, \\"',
            due,
        )

    async def test_a_failing_fold_stops_the_load_and_leaves_the_live_tables(
        self, deps: Dependencies, pool: Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A fold that raises mid-load (a COPY of the batch before in flight): the rebuild fails with that error,
        nothing of it keeps running on the database, the live tables are as they were, and the next rebuild works."""
        await some_history(deps, 8)
        live = await snapshot(pool)
        folded = 0

        def failing(stream: Stream[tasks.Task]) -> TaskRow | None:
            nonlocal folded
            folded += 1
            if folded == 5:
                raise RuntimeError("this fold fails")
            return TASKS_VIEW.row(stream)

        monkeypatch.setattr("infrastructure.postgres.rebuild.bulk_load.BATCH", 2)
        monkeypatch.setitem(BY_NAME, "tasks_view", dataclasses.replace(TASKS_VIEW, row=failing))
        with pytest.raises(RuntimeError, match="this fold fails"):
            await rebuild(database_url, "tasks_view")
        async with pool.connection() as conn:
            # The rebuild's own sessions end with it (a cancelled FETCH may take a moment to be told).
            for _ in range(50):
                cursor = await conn.execute(
                    "SELECT state, query FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'"
                )
                if not (busy := await cursor.fetchall()):
                    break
                await asyncio.sleep(0.1)
            assert busy == []
        assert await snapshot(pool) == live
        monkeypatch.setitem(BY_NAME, "tasks_view", TASKS_VIEW)
        await rebuild(database_url, "tasks_view")
        assert await snapshot(pool) == live

    async def test_overdue_tasks_are_rebuilt_as_the_check_marked_them(
        self, deps: Dependencies, pool: Pool, database_url: str
    ) -> None:
        session = await register_user(RegisterUser(f"o-{uuid4()}@example.com", "O", "long enough"), NOBODY, deps.users)
        ctx = RequestContext(actor=Actor(session.user.id, Role.USER), request_id="t")
        due = datetime(2030, 1, 1, tzinfo=UTC)
        made = [
            await create_task(CreateTask(f"t{n}", due_date=due + timedelta(days=n)), ctx, deps.tasks) for n in range(6)
        ]
        clock = ManualClock(due + timedelta(days=3, hours=1))
        assert await mark_overdue_tasks(overdue_check(pool, clock)) == 4
        later = TaskChanges(due_date=due + timedelta(days=10))
        await update_task(UpdateTask(made[0].id, later), ctx, deps.tasks)
        await update_task(UpdateTask(made[1].id, TaskChanges(status=TaskStatus.COMPLETED)), ctx, deps.tasks)
        live = await snapshot(pool)
        overdue = await rows(pool, "SELECT count(*) FROM tasks_view WHERE valid_to IS NULL AND overdue")
        assert overdue == [(2,)], "marked, then one given a later due date and one completed"
        for name in ("tasks_view", "task_counters", "task_deadlines"):
            await rebuild(database_url, name)
        assert await snapshot(pool) == live

    async def test_the_rebuilt_tables_keep_working(self, deps: Dependencies, pool: Pool, database_url: str) -> None:
        await some_history(deps, 4)
        await rebuild(database_url, "tasks_view")
        await some_history(deps, 4)  # inline projections write into the swapped-in tables
        live = await snapshot(pool)
        await rebuild(database_url, "tasks_view")
        assert await snapshot(pool) == live

    async def test_under_write_load_no_command_fails_and_the_result_is_whole(
        self, deps: Dependencies, pool: Pool, database_url: str
    ) -> None:
        await some_history(deps, 30)
        failures: list[ApplicationError] = []
        stop = asyncio.Event()

        async def write() -> None:
            session = await register_user(
                RegisterUser(f"w-{uuid4()}@example.com", "W", "long enough"), NOBODY, deps.users
            )
            ctx = RequestContext(actor=Actor(session.user.id, Role.USER), request_id="load")
            n = 0
            while not stop.is_set():
                try:
                    task = await create_task(CreateTask(f"load {n}"), ctx, deps.tasks)
                    await update_task(UpdateTask(task.id, TaskChanges(priority=Priority.HIGH)), ctx, deps.tasks)
                except ApplicationError as error:
                    failures.append(error)
                n += 1

        writers = [asyncio.create_task(write()) for _ in range(3)]
        await asyncio.sleep(0.2)
        await rebuild(database_url, "tasks_view")
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*writers)
        assert failures == []
        live = await snapshot(pool)
        await rebuild(database_url, "tasks_view")
        assert await snapshot(pool) == live, "what the rebuild swapped in kept every write made meanwhile"


class TestActivityRebuild:
    async def test_rebuilt_activity_equals_the_live_projection_and_the_follower_goes_on(
        self, deps: Dependencies, pool: Pool, database_url: str
    ) -> None:
        activity = ProjectionFollower(TASK_ACTIVITY)
        await some_history(deps)
        while await run_batch(pool, activity):
            pass
        live = await rows(pool, "SELECT * FROM task_activity ORDER BY owner_id, day")
        assert await rebuild(database_url, "task_activity") > 0
        assert await rows(pool, "SELECT * FROM task_activity ORDER BY owner_id, day") == live
        await some_history(deps, 3)  # the live follower goes on from the rebuild's checkpoint
        while await run_batch(pool, activity):
            pass
        assert await activity_counts(pool) == await log_counts(pool)


class TestCommand:
    async def test_progress_and_a_final_line_with_count_and_rate(
        self, deps: Dependencies, database_url: str, settings: Settings
    ) -> None:
        await some_history(deps, 3)
        env = base_environment(TASKFLOW_DATABASE_URL=database_url, TASKFLOW_REDIS_URL=settings.redis_url or "")
        done = await run_taskflow(env, "projections", "rebuild", "--all")
        assert done.returncode == 0, done.stderr
        finals = [line for line in done.stdout.splitlines() if line.startswith("rebuilt ")]
        assert [line.split(":")[0] for line in finals] == [
            "rebuilt refunds_view",
            "rebuilt task_activity",
            "rebuilt task_counters",
            "rebuilt task_deadlines",
            "rebuilt tasks_view",
            "rebuilt users_view",
        ]
        assert all("events/s" in line for line in finals)
        refused = await run_taskflow(env, "projections", "rebuild")
        assert refused.returncode != 0


class TestWalksAcrossARebuild:
    async def test_a_walk_begun_before_a_rebuild_is_told_to_start_again(
        self, deps: Dependencies, pool: Pool, database_url: str
    ) -> None:
        walker = RegisterUser(f"walker-{uuid4()}@example.com", "W", "long enough")
        session = await register_user(walker, NOBODY, deps.users)
        ctx = RequestContext(actor=Actor(session.user.id, Role.USER), request_id="walk")
        for n in range(4):
            await create_task(CreateTask(f"t{n}"), ctx, deps.tasks)
        first = await list_tasks(ListTasks(limit=2), ctx, deps.task_reads)
        assert first.next_cursor is not None
        await rebuild(database_url, "tasks_view")
        with pytest.raises(InvalidInput) as refused:
            await list_tasks(ListTasks(limit=2, cursor=first.next_cursor), ctx, deps.task_reads)
        assert refused.value.field == "cursor"
        again = await list_tasks(ListTasks(limit=10), ctx, deps.task_reads)
        assert len(again.data) == 4


class TestSwapWaits:
    async def test_a_slow_reader_delays_the_swap_not_the_writers(
        self, deps: Dependencies, pool: Pool, database_url: str
    ) -> None:
        await some_history(deps, 4)
        writer = RegisterUser(f"busy-{uuid4()}@example.com", "B", "long enough")
        session = await register_user(writer, NOBODY, deps.users)
        ctx = RequestContext(actor=Actor(session.user.id, Role.USER), request_id="w")
        async with pool.connection() as reader, reader.transaction():
            await reader.execute("SELECT count(*) FROM tasks_view")  # holds its lock until this block ends
            swapping = asyncio.create_task(rebuild(database_url, "tasks_view"))
            for n in range(15):
                await create_task(CreateTask(f"during {n}"), ctx, deps.tasks)  # each must succeed, not wait it out
                await asyncio.sleep(0.1)
            assert not swapping.done()
        await swapping
        live = await snapshot(pool)
        await rebuild(database_url, "tasks_view")
        assert await snapshot(pool) == live

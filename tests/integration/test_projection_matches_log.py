"""Property: after any sequence of task commands and overdue checks at any moments, tasks_view (overdue included)
holds exactly what folding the log gives."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal, TypeVar
from uuid import UUID, uuid4

import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from msgspec import UNSET, UnsetType

from application.batch import BatchAction, BatchTasks, batch_tasks
from application.context import Actor, RequestContext
from application.errors import NotFound
from application.folds import task_state, task_view
from application.overdue import mark_overdue_tasks
from application.projections.registry import TASK_ACTIVITY
from application.refund_views import attach_refund
from application.refunds import request_refund
from application.tasks import CreateTask, DeleteTask, TaskChanges, UpdateTask, create_task, delete_task, update_task
from domain.errors import FeeLocked, InvalidTask, RefundAlreadyRequested, TaskHasNoFee
from domain.values import Money, Priority, Role, TaskStatus
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.postgres.rebuild import rebuild
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.settings import Settings
from tests.clock import ManualClock
from tests.integration.test_followers import activity_counts, log_counts
from tests.integration.wiring import deps_over, overdue_check

Who = Literal["owner", "stranger", "admin"]

# A target is an index into the tasks created so far (modulo their number), or None for a task that never existed.
Target = int | None


@dataclass(frozen=True)
class Create:
    who: Who
    command: CreateTask


@dataclass(frozen=True)
class Update:
    who: Who
    target: Target
    changes: TaskChanges


@dataclass(frozen=True)
class Delete:
    who: Who
    target: Target


@dataclass(frozen=True)
class Batch:
    who: Who
    action: BatchAction
    targets: list[Target]


@dataclass(frozen=True)
class Refund:
    who: Who
    target: Target


@dataclass(frozen=True)
class Tick:
    """The scheduler's overdue check, with the clock at `at`."""

    at: datetime


Step = Create | Update | Delete | Batch | Refund | Tick

# Text the API accepts: no control characters (PostgreSQL cannot store NUL in JSONB at all).
texts = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)
titles = texts.filter(bool)
descriptions = st.none() | texts
due_dates = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
fees = st.none() | st.builds(
    Money, amount=st.integers(min_value=1, max_value=10**12), currency=st.sampled_from(["EUR", "USD", "JPY"])
)
statuses = st.sampled_from(TaskStatus)
priorities = st.sampled_from(Priority)
actors: st.SearchStrategy[Who] = st.sampled_from(["owner", "owner", "owner", "stranger", "admin"])
indices = st.integers(min_value=0, max_value=50)
targets: st.SearchStrategy[Target] = st.one_of(indices, indices, indices, st.none())


T = TypeVar("T")


def unset_or(values: st.SearchStrategy[T]) -> st.SearchStrategy[T | UnsetType]:
    return values | st.just(UNSET)


creates: st.SearchStrategy[Step] = st.builds(
    Create,
    who=st.sampled_from(["owner", "owner", "owner", "admin"]),
    command=st.builds(
        CreateTask,
        title=titles,
        description=descriptions,
        status=statuses,
        priority=priorities,
        due_date=due_dates,
        fee=fees,
    ),
)
updates: st.SearchStrategy[Step] = st.builds(
    Update,
    who=actors,
    target=targets,
    changes=st.builds(
        TaskChanges,
        title=unset_or(titles),
        description=unset_or(descriptions),
        status=unset_or(statuses),
        priority=unset_or(priorities),
        due_date=unset_or(due_dates),
        fee=unset_or(fees),
    ),
)
deletes: st.SearchStrategy[Step] = st.builds(Delete, who=actors, target=targets)
refunds: st.SearchStrategy[Step] = st.builds(Refund, who=actors, target=targets)
batches: st.SearchStrategy[Step] = st.builds(
    Batch, who=actors, action=st.sampled_from(BatchAction), targets=st.lists(targets, min_size=1, max_size=6)
)
# Moments across the due dates above, so a check marks some tasks and leaves others.
ticks: st.SearchStrategy[Step] = st.builds(
    Tick, at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
)
# A few tasks first, then a mix weighted towards changing them.
scripts = st.tuples(
    st.lists(creates, min_size=1, max_size=4),
    st.lists(st.one_of(updates, updates, batches, creates, deletes, refunds, ticks), min_size=3, max_size=20),
).map(lambda parts: parts[0] + parts[1])


class Run:
    """One example's actors (fresh ids, so examples sharing a database never see each other's tasks)."""

    def __init__(self, deps: Dependencies, pool: Pool) -> None:
        self.deps = deps
        self.pool = pool
        self.actors: dict[Who, Actor] = {
            "owner": Actor(user_id=uuid4(), role=Role.USER),
            "stranger": Actor(user_id=uuid4(), role=Role.USER),
            "admin": Actor(user_id=uuid4(), role=Role.ADMIN),
        }
        self.created: list[UUID] = []

    def context(self, who: Who) -> RequestContext:
        return RequestContext(actor=self.actors[who], request_id=f"{who}-request")

    def task_id(self, target: Target) -> UUID:
        return self.created[target % len(self.created)] if target is not None and self.created else uuid4()

    async def step(self, step: Step) -> None:
        """Run one command through its handler; refusals (NotFound) are expected and change nothing."""
        if isinstance(step, Tick):
            await mark_overdue_tasks(overdue_check(self.pool, ManualClock(step.at)))
            return
        ctx = self.context(step.who)
        # Refused commands append nothing, which the final comparison checks.
        with contextlib.suppress(NotFound, InvalidTask, TaskHasNoFee, RefundAlreadyRequested, FeeLocked):
            if isinstance(step, Create):
                view = await create_task(step.command, ctx, self.deps.tasks)
                self.created.append(view.id)
                assert await self.deps.task_reads.tasks.get(view.id) == view, "a client reads its own create"
            elif isinstance(step, Update):
                command = UpdateTask(task_id=self.task_id(step.target), changes=step.changes)
                view = await update_task(command, ctx, self.deps.tasks)
                assert await self.deps.task_reads.tasks.get(view.id) == view, "a client reads its own update"
            elif isinstance(step, Delete):
                await delete_task(DeleteTask(task_id=self.task_id(step.target)), ctx, self.deps.tasks)
            elif isinstance(step, Refund):
                refund = await request_refund(self.task_id(step.target), ctx, self.deps.tasks)
                shown = await self.deps.task_reads.tasks.get(refund.task_id)
                assert shown is not None
                assert shown.refund == refund, "a client reads its own refund request on the task"
            else:
                task_ids = list(dict.fromkeys(self.task_id(t) for t in step.targets))
                await batch_tasks(BatchTasks(action=step.action, task_ids=task_ids), ctx, self.deps.tasks)

    async def task_streams(self, pool: Pool) -> list[UUID]:
        """Every task stream this run's actors own, read from the log rather than from the handlers' answers."""
        owners = [str(actor.user_id) for actor in self.actors.values()]
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT stream_id FROM events WHERE type = 'TaskCreated' AND data->>'ownerId' = ANY(%s)", (owners,)
            )
            return [stream_id for (stream_id,) in await cursor.fetchall()]

    async def projected_ids(self, pool: Pool) -> set[UUID]:
        owners = [actor.user_id for actor in self.actors.values()]
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id FROM tasks_view WHERE owner_id = ANY(%s) AND valid_to IS NULL", (owners,)
            )
            return {task_id for (task_id,) in await cursor.fetchall()}


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


@hypothesis.settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=scripts)
async def test_tasks_view_equals_the_folded_log(pool: Pool, deps: Dependencies, script: list[Step]) -> None:
    run = Run(deps, pool)
    for step in script:
        await run.step(step)

    stream_ids = await run.task_streams(pool)
    assert sorted(stream_ids) == sorted(run.created)
    async with PostgresUnitOfWork(pool) as uow:
        streams = await uow.events.load_many(stream_ids)
    folded = {
        stream_id: await attach_refund(
            view, task_state(records).refund_id, deps.task_reads.refunds, deps.task_reads.uow
        )
        if (view := task_view(records))
        else None
        for stream_id, records in streams.items()
    }
    for stream_id, expected in folded.items():
        assert await run.deps.task_reads.tasks.get(stream_id) == expected, [r.type for r in streams[stream_id]]
    live = [view for view in folded.values() if view is not None]
    assert await run.projected_ids(pool) == {view.id for view in live}
    for actor in run.actors.values():
        stats = await run.deps.task_reads.tasks.stats(actor.user_id)
        mine = [view for view in live if view.owner_id == actor.user_id]
        assert (stats.total, stats.pending, stats.in_progress, stats.completed, stats.high_priority, stats.overdue) == (
            len(mine),
            sum(v.status is TaskStatus.PENDING for v in mine),
            sum(v.status is TaskStatus.IN_PROGRESS for v in mine),
            sum(v.status is TaskStatus.COMPLETED for v in mine),
            sum(v.priority is Priority.HIGH for v in mine),
            sum(v.overdue for v in mine),
        ), "the counters equal counting the folded log"


@hypothesis.settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=scripts)
async def test_a_rebuild_and_the_activity_projection_equal_the_log(
    pool: Pool, deps: Dependencies, database_url: str, script: list[Step]
) -> None:
    """(b) rebuilt tables equal the live ones; (c) the activity projection equals counting the log."""
    run = Run(deps, pool)
    for step in script:
        await run.step(step)
    live = await read_models(pool)
    for name in ("tasks_view", "task_counters", "task_deadlines", "users_view", "refunds_view"):
        await rebuild(database_url, name)
    assert await read_models(pool) == live
    activity = ProjectionFollower(TASK_ACTIVITY)
    while await run_batch(pool, activity):
        pass
    assert await activity_counts(pool) == await log_counts(pool)


async def read_models(pool: Pool) -> list[list[tuple[object, ...]]]:
    queries = (
        "SELECT id, owner_id, title, description, status, priority, due_date, overdue, fee_amount, fee_currency,"
        " version, created_at, updated_at FROM tasks_view WHERE valid_to IS NULL ORDER BY id",
        "SELECT * FROM task_counters WHERE total <> 0 ORDER BY owner_id, stripe",
        "SELECT * FROM task_deadlines ORDER BY id",
        "SELECT * FROM users_view ORDER BY id",
        "SELECT * FROM refunds_view ORDER BY id",
    )
    found = []
    async with pool.connection() as conn:
        for query in queries:
            cursor = await conn.execute(query)
            found.append(await cursor.fetchall())
    return found

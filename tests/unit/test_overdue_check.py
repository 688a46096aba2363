"""The overdue check on the in-memory adapters: which tasks a run marks, once per due date, in batches, with the
scheduler's metadata, the caches told, and lost races taken again."""

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.context import RequestContext
from application.errors import ConcurrencyError
from application.overdue import MAX_CONFLICTS, SCHEDULER_ACTOR, OverdueCheck, mark_overdue_tasks
from application.records import RecordedEvent
from application.tasks import CreateTask, TaskChanges, UpdateTask, create_task, update_task
from domain import tasks
from domain.values import TaskStatus
from tests.clock import ManualClock
from tests.fakes import MemoryLog, MemoryOverdueUnitOfWork
from tests.unit.test_handlers import RandomIds, World

DUE = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


class RecordingCache:
    def __init__(self) -> None:
        self.changed: list[tuple[set[UUID], set[UUID]]] = []

    async def tasks_changed(self, task_ids: Collection[UUID], owner_ids: Collection[UUID]) -> None:
        self.changed.append((set(task_ids), set(owner_ids)))


class Check:
    """A world, its user, and an overdue check on the world's log with a clock the test moves."""

    def __init__(self, world: World, user: RequestContext, batch_size: int = 1000) -> None:
        self.world = world
        self.user = user
        self.clock = ManualClock(DUE - timedelta(days=1))
        self.cache = RecordingCache()
        self.uows = 0
        self.check = OverdueCheck(self._uow, self.clock, RandomIds(), self.cache, batch_size)

    def _uow(self) -> MemoryOverdueUnitOfWork:
        self.uows += 1
        return MemoryOverdueUnitOfWork(self.world.log)

    async def task(self, due: datetime | None = DUE, status: TaskStatus = TaskStatus.PENDING) -> UUID:
        command = CreateTask(title="t", status=status, due_date=due)
        return (await create_task(command, self.user, self.world.deps.tasks)).id

    async def run(self, at: datetime) -> int:
        self.clock.set(at)
        return await mark_overdue_tasks(self.check)

    def overdue_events(self, task_id: UUID) -> list[RecordedEvent]:
        return [r for r in self.world.log.streams[task_id] if r.type == "TaskBecameOverdue"]

    def overdue(self, task_id: UUID) -> bool:
        return self.world.log.tasks[task_id].overdue


@pytest.fixture
async def check() -> Check:
    world = World()
    return Check(world, await world.register("ann@example.com"))


class TestARun:
    async def test_marks_a_task_past_its_due_date_once(self, check: Check) -> None:
        task_id = await check.task()
        assert await check.run(DUE) == 0, "not before the due date has passed"
        assert await check.run(DUE + timedelta(seconds=1)) == 1
        assert check.overdue(task_id)
        assert await check.run(DUE + timedelta(days=1)) == 0
        (event,) = check.overdue_events(task_id)
        assert event.event() == tasks.TaskBecameOverdue(due_date=DUE)
        assert event.recorded_at == DUE + timedelta(seconds=1)

    async def test_leaves_completed_undated_and_future_tasks_alone(self, check: Check) -> None:
        done = await check.task(status=TaskStatus.COMPLETED)
        undated = await check.task(due=None)
        future = await check.task(due=DUE + timedelta(days=2))
        assert await check.run(DUE + timedelta(days=1)) == 0
        assert not any(check.overdue(task_id) for task_id in (done, undated, future))

    async def test_events_carry_the_scheduler_and_one_correlation_id_per_run(self, check: Check) -> None:
        first = [await check.task(), await check.task()]
        await check.run(DUE + timedelta(seconds=1))
        later = await check.task(due=DUE + timedelta(hours=1))
        await check.run(DUE + timedelta(hours=2))
        runs = [
            {check.overdue_events(t)[0].metadata.correlation_id for t in first},
            {check.overdue_events(later)[0].metadata.correlation_id},
        ]
        assert all(len(ids) == 1 for ids in runs)
        assert runs[0] != runs[1]
        metadata = check.overdue_events(later)[0].metadata
        assert (metadata.actor_id, metadata.causation_id) == (SCHEDULER_ACTOR, metadata.correlation_id)

    async def test_tells_the_caches_which_tasks_and_owners_changed(self, check: Check) -> None:
        task_id = await check.task()
        await check.run(DUE + timedelta(seconds=1))
        assert check.user.actor is not None
        assert check.cache.changed == [({task_id}, {check.user.actor.user_id})]

    async def test_a_run_goes_on_batch_after_batch_until_no_task_is_due(self) -> None:
        world = World()
        check = Check(world, await world.register("ann@example.com"), batch_size=2)
        due = [await check.task(DUE + timedelta(minutes=n)) for n in range(5)]
        not_yet = await check.task(DUE + timedelta(days=1))
        assert await check.run(DUE + timedelta(hours=1)) == 5
        assert all(check.overdue(task_id) for task_id in due)
        assert not check.overdue(not_yet)
        assert check.uows == 3, "two full batches and a short one"

    async def test_a_stopping_process_leaves_the_rest_to_the_next_run(self) -> None:
        world = World()
        check = Check(world, await world.register("ann@example.com"), batch_size=2)
        for n in range(5):
            await check.task(DUE + timedelta(minutes=n))
        check.clock.set(DUE + timedelta(hours=1))
        batches = iter([False, True])
        assert await mark_overdue_tasks(check.check, lambda: next(batches)) == 2
        assert await check.run(DUE + timedelta(hours=1)) == 3


class TestDueDateChanges:
    async def change(self, check: Check, task_id: UUID, **fields: Any) -> None:
        await update_task(UpdateTask(task_id, TaskChanges(**fields)), check.user, check.world.deps.tasks)

    async def test_a_later_due_date_ends_it_until_that_date_passes(self, check: Check) -> None:
        task_id = await check.task()
        await check.run(DUE + timedelta(seconds=1))
        later = DUE + timedelta(days=2)
        await self.change(check, task_id, due_date=later)
        assert not check.overdue(task_id)
        assert await check.run(later) == 0
        assert await check.run(later + timedelta(seconds=1)) == 1
        assert check.overdue(task_id)
        assert [e.event() for e in check.overdue_events(task_id)] == [
            tasks.TaskBecameOverdue(due_date=DUE),
            tasks.TaskBecameOverdue(due_date=later),
        ]

    async def test_an_earlier_due_date_keeps_it_overdue_with_no_new_event(self, check: Check) -> None:
        task_id = await check.task()
        await check.run(DUE + timedelta(seconds=1))
        await self.change(check, task_id, due_date=DUE - timedelta(days=3))
        assert check.overdue(task_id)
        assert await check.run(DUE + timedelta(days=1)) == 0

    async def test_completing_ends_it_and_reopening_makes_it_overdue_again(self, check: Check) -> None:
        task_id = await check.task()
        await check.run(DUE + timedelta(seconds=1))
        await self.change(check, task_id, status=TaskStatus.COMPLETED)
        assert not check.overdue(task_id)
        assert await check.run(DUE + timedelta(days=1)) == 0
        await self.change(check, task_id, status=TaskStatus.IN_PROGRESS)
        assert not check.overdue(task_id), "until the next check"
        assert await check.run(DUE + timedelta(days=2)) == 1
        assert check.overdue(task_id)


class LosingUnitOfWork(MemoryOverdueUnitOfWork):
    """Its appends lose the race to a user's command, as a unique (stream_id, version) would make them: nothing of
    it is committed."""

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        lost = exc_type is None and bool(self.events.pending)
        await super().__aexit__(ConcurrencyError if lost else exc_type, exc, tb)
        if lost:
            raise ConcurrencyError()


class Racing:
    """Units of work on the log, of which the first `losses` lose their race."""

    def __init__(self, log: MemoryLog, losses: int) -> None:
        self._log = log
        self._losses = losses
        self.made = 0

    def __call__(self) -> MemoryOverdueUnitOfWork:
        self.made += 1
        return LosingUnitOfWork(self._log) if self.made <= self._losses else MemoryOverdueUnitOfWork(self._log)


class TestLostRaces:
    async def test_a_batch_that_lost_a_race_is_taken_again_smaller(self, check: Check) -> None:
        for n in range(4):
            await check.task(DUE + timedelta(minutes=n))
        racing = Racing(check.world.log, losses=2)
        check.clock.set(DUE + timedelta(hours=1))
        assert await mark_overdue_tasks(OverdueCheck(racing, check.clock, RandomIds(), check.cache, 4)) == 4
        # 4 lost, 2 lost, 1 marked, then the 3 left in one batch of 4 again.
        assert racing.made == 4

    async def test_a_run_gives_up_after_too_many_lost_races(self, check: Check) -> None:
        task_id = await check.task()
        racing = Racing(check.world.log, losses=1_000)
        check.clock.set(DUE + timedelta(hours=1))
        assert await mark_overdue_tasks(OverdueCheck(racing, check.clock, RandomIds(), check.cache)) == 0
        assert racing.made == MAX_CONFLICTS + 1
        assert not check.overdue(task_id)
        assert await check.run(DUE + timedelta(hours=1)) == 1, "the next run marks it"

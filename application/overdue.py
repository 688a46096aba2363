"""Time as a command: the overdue check marks each task that has passed its due date, once per due date."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from application.errors import ConcurrencyError
from application.folds import task_state
from application.ports import Clock, Ids, OverdueUnitOfWorkFactory, TaskCacheInvalidation
from application.records import EventMetadata, StreamAppend
from domain import tasks
from domain.errors import TaskNotFound

log = logging.getLogger("taskflow.overdue")

SCHEDULER_ACTOR = "system:scheduler"
BATCH = 1000
# Lost races in one run (a user's command on a task of the batch, between the take and the append) before the run
# leaves what is left to the next one.
MAX_CONFLICTS = 8


@dataclass(frozen=True, slots=True)
class OverdueCheck:
    """What a run needs: units of work that take due tasks, the clock, ids, and the caches to invalidate."""

    uow: OverdueUnitOfWorkFactory
    clock: Clock
    ids: Ids
    cache: TaskCacheInvalidation
    batch_size: int = BATCH


async def mark_overdue_tasks(check: OverdueCheck, stopping: Callable[[], bool] = lambda: False) -> int:
    """One run: mark every task due by now (the clock's, at each batch) as overdue; returns how many it marked.
    `stopping` is asked between batches: a stopping process leaves the rest to the next run (its own or another's).

    Each batch is one unit of work that holds its tasks (a concurrent run takes others) and appends at its end: a
    process killed mid-batch leaves nothing of it. A task changed meanwhile fails the batch on its stream version,
    and the batch is taken again, smaller, on the fresh state."""
    run_id = check.ids.new()
    metadata = EventMetadata(actor_id=SCHEDULER_ACTOR, correlation_id=str(run_id), causation_id=str(run_id))
    size, conflicts, marked = check.batch_size, 0, 0
    while not stopping():
        try:
            taken, batch_marked = await _mark_batch(check, size, metadata)
        except ConcurrencyError:
            conflicts += 1
            if conflicts > MAX_CONFLICTS:
                log.warning("overdue check: left to the next run after %d lost races", conflicts - 1)
                break
            size = max(1, size // 2)  # fewer tasks, fewer chances that one of them changes meanwhile
            continue
        marked += batch_marked
        # A short batch took every due task; one that marked nothing would only take the same tasks again.
        if taken < size or not batch_marked:
            break
        size = check.batch_size
    if marked:
        log.info("overdue check", extra={"correlationId": str(run_id), "marked": marked})
    return marked


async def _mark_batch(check: OverdueCheck, size: int, metadata: EventMetadata) -> tuple[int, int]:
    """Take up to `size` due tasks and mark them in one unit of work; returns (taken, marked)."""
    now = check.clock.now()
    marked: list[UUID] = []
    owners: set[UUID] = set()
    async with check.uow() as uow:
        due = await uow.due_tasks.take(now, size)
        streams = await uow.events.load_many(due) if due else {}
        appends: list[StreamAppend] = []
        for task_id in due:
            records = streams.get(task_id, [])
            state = task_state(records)
            try:
                events = tasks.decide(tasks.MarkOverdue(now=now), state)
            except TaskNotFound:
                continue
            if events and state.owner_id is not None:
                appends.append(StreamAppend(task_id, tasks.STREAM_TYPE, records[-1].version, list(events)))
                marked.append(task_id)
                owners.add(state.owner_id)
        if appends:
            await uow.events.append(appends, metadata, now)
    if marked:
        await check.cache.tasks_changed(marked, owners)
    return len(due), len(marked)

"""Tasks falling due, written straight through the event store in large appends (the handlers would take one
command each), and what the log and the read tables say about their being overdue."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork

APPEND = 5000  # creations a statement


async def falling_due(pool: Pool, owner: UUID, due_dates: list[datetime]) -> list[UUID]:
    """One open task of `owner` for each due date; returns their ids in that order."""
    ids = [uuid4() for _ in due_dates]
    created = [
        tasks.TaskCreated(owner_id=owner, title=f"due {n}", due_date=due, fee=None) for n, due in enumerate(due_dates)
    ]
    for start in range(0, len(ids), APPEND):
        async with PostgresUnitOfWork(pool) as uow:
            appends = [
                StreamAppend(task_id, tasks.STREAM_TYPE, 0, [event])
                for task_id, event in zip(ids[start : start + APPEND], created[start : start + APPEND], strict=True)
            ]
            await uow.events.append(appends, EventMetadata(actor_id=str(owner)), datetime.now(UTC))
    return ids


async def overdue_events(pool: Pool) -> dict[UUID, int]:
    """How many TaskBecameOverdue each task has in the log."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT stream_id, count(*) FROM events WHERE type = 'TaskBecameOverdue' GROUP BY stream_id"
        )
        return dict(await cursor.fetchall())


async def assert_read_side_agrees_with_the_log(pool: Pool, task_ids: list[UUID]) -> None:
    """Every task (none of them changed since it fell due) is overdue in tasks_view and task_counters exactly when
    the log has its event, and watched in task_deadlines exactly when it has not: nothing half written."""
    marked = await overdue_events(pool)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, overdue FROM tasks_view WHERE valid_to IS NULL AND id = ANY(%s)", (task_ids,)
        )
        shown: dict[UUID, bool] = dict(await cursor.fetchall())
        cursor = await conn.execute("SELECT id FROM task_deadlines WHERE id = ANY(%s)", (task_ids,))
        watched = {task_id for (task_id,) in await cursor.fetchall()}
        cursor = await conn.execute("SELECT coalesce(sum(overdue), 0) FROM task_counters")
        (counted,) = await cursor.fetchone() or (0,)
    assert shown == {task_id: task_id in marked for task_id in task_ids}
    assert watched == {task_id for task_id in task_ids if task_id not in marked}
    assert counted == len(marked)

"""Batch complete and delete: one read of every stream, one decision each, one append, one transaction."""

import enum
from typing import Annotated
from uuid import UUID

import msgspec

from application.context import RequestContext
from application.errors import InvalidInput, NotFound
from application.fields import Command
from application.idempotency import IdempotencyKey, once
from application.policies import task_appends
from application.ports import UnitOfWork
from application.records import StreamAppend
from application.tasks import TaskDeps, acting_user, owned_state, with_retries
from domain import tasks
from domain.errors import TaskNotFound

MAX_BATCH = 1000


class BatchAction(enum.StrEnum):
    COMPLETE = "complete"
    DELETE = "delete"


class BatchTasks(Command, frozen=True):
    """POST /tasks/batch's body."""

    action: BatchAction
    task_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class ItemError(enum.StrEnum):
    """Why one task of a batch failed (it alone: the others are unaffected)."""

    NOT_FOUND = "not-found"  # missing, deleted, or not the caller's: indistinguishable on purpose


class BatchItem(msgspec.Struct, frozen=True):
    task_id: UUID
    error: ItemError | None = None


_COMMANDS: dict[BatchAction, tasks.TaskCommand] = {
    BatchAction.COMPLETE: tasks.CompleteTask(),
    BatchAction.DELETE: tasks.DeleteTask(),
}


async def batch_tasks(
    command: BatchTasks, ctx: RequestContext, deps: TaskDeps, idempotency: IdempotencyKey | None = None
) -> list[BatchItem]:
    """Apply the action to every task the caller may act on; the others fail alone, as per-item errors."""
    actor = acting_user(ctx)
    if len(set(command.task_ids)) != len(command.task_ids):
        raise InvalidInput("taskIds", "must not name a task twice")
    if not 1 <= len(command.task_ids) <= MAX_BATCH:
        raise InvalidInput("taskIds", f"must name 1 to {MAX_BATCH} tasks")
    decision = _COMMANDS[command.action]

    owners: set[UUID] = set()

    async def apply(uow: UnitOfWork) -> list[BatchItem]:
        results: list[BatchItem] = []
        appends: list[StreamAppend] = []
        streams = await uow.events.load_many(command.task_ids)
        for task_id in command.task_ids:
            records = streams.get(task_id, [])
            try:
                state = owned_state(records, actor)
                events = tasks.decide(decision, state)
            except (NotFound, TaskNotFound):
                results.append(BatchItem(task_id, ItemError.NOT_FOUND))
                continue
            results.append(BatchItem(task_id))
            if events and state.owner_id:
                owners.add(state.owner_id)
                appends += task_appends(task_id, state, records[-1].version, events, deps.ids.new)
        if appends:
            await uow.events.append(appends, ctx.metadata(), deps.clock.now())
        return results

    async def attempt() -> list[BatchItem]:
        async with deps.uow() as uow:
            return await once(uow, actor, idempotency, list[BatchItem], deps.clock, lambda: apply(uow))

    results = await with_retries(False, attempt)
    if owners:
        await deps.cache.tasks_changed([item.task_id for item in results if item.error is None], owners)
    return results

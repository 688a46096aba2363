"""Task command handlers: load the stream, decide, append with the expected version, in one unit of work."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from application.context import Actor, RequestContext
from application.errors import ConcurrencyError, Forbidden, InvalidInput, NotFound, PreconditionFailed, Unauthenticated
from application.fields import Command, Description, Timestamp, Title
from application.folds import task_state, task_view
from application.idempotency import IdempotencyKey, once
from application.policies import task_appends
from application.ports import (
    Clock,
    Ids,
    RefundReadModel,
    TaskCacheInvalidation,
    UnitOfWork,
    UnitOfWorkFactory,
    UserReadModel,
)
from application.records import RecordedEvent, StreamAppend
from application.refund_views import attach_refund
from application.views import TaskView
from domain import tasks
from domain.values import Money, Priority, TaskStatus

# A command that did not pin a version (no If-Match) is retried on fresh state after a lost race.
MAX_ATTEMPTS = 3

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TaskDeps:
    """What the task commands use."""

    uow: UnitOfWorkFactory
    clock: Clock
    ids: Ids
    cache: TaskCacheInvalidation  # told after each commit
    users: UserReadModel  # an admin's task for someone else: that owner must exist
    refunds: RefundReadModel  # a changed task shows its refund


class CreateTask(Command, frozen=True):
    """POST /tasks's body: the owner is the caller unless an admin names another."""

    title: Title
    description: Description | None = None
    status: TaskStatus = TaskStatus.PENDING
    priority: Priority = Priority.MEDIUM
    due_date: Timestamp | None = None
    fee: Money | None = None
    owner_id: UUID | None = None


class TaskChanges(Command, frozen=True):
    """PATCH /tasks/{id}'s body: the fields to change (the others stay UNSET)."""

    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    status: TaskStatus | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    due_date: Timestamp | UnsetType | None = UNSET
    fee: Money | UnsetType | None = UNSET


class UpdateTask(msgspec.Struct, frozen=True):
    task_id: UUID
    changes: TaskChanges
    expected_version: int | None = None  # If-Match


class DeleteTask(msgspec.Struct, frozen=True):
    task_id: UUID
    expected_version: int | None = None


def in_utc(value: T, field: str) -> T:
    """Timestamps are kept and answered in UTC; one whose UTC form falls outside years 1-9999 is invalid."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise InvalidInput(field, "must be an RFC 3339 timestamp with an offset")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidInput(field, "is out of range") from exc


def _as_decided(fields: dict[str, Any]) -> dict[str, Any]:
    """A command's fields as the decider takes them: the title trimmed, the due date in UTC."""
    title, due_date = fields["title"], fields["due_date"]
    return fields | {
        "title": title.strip() if isinstance(title, str) else title,
        "due_date": in_utc(due_date, "dueDate"),
    }


def acting_user(ctx: RequestContext) -> Actor:
    """The authenticated caller; every task handler needs one."""
    if ctx.actor is None:
        raise Unauthenticated()
    return ctx.actor


async def with_retries(pinned: bool, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt`, again on a lost race unless the client pinned the version it expects."""
    for remaining in reversed(range(MAX_ATTEMPTS)):
        try:
            return await attempt()
        except ConcurrencyError:
            if pinned or remaining == 0:
                raise
    raise ConcurrencyError()


def owned_state(records: Sequence[RecordedEvent], actor: Actor) -> tasks.Task:
    """The task's state if it is live and the actor's to act on; NotFound otherwise (never confirm it exists)."""
    state = task_state(records)
    if not state.is_live or state.owner_id is None or not actor.may_act_on(state.owner_id):
        raise NotFound("task")
    return state


def _check_version(expected: int | None, records: Sequence[RecordedEvent]) -> None:
    if expected is not None and expected != records[-1].version:
        raise PreconditionFailed()


async def create_task(
    command: CreateTask, ctx: RequestContext, deps: TaskDeps, idempotency: IdempotencyKey | None = None
) -> TaskView:
    """Create a task owned by the caller (or, for an admin, by `owner_id`)."""
    fields = _as_decided(msgspec.structs.asdict(command))
    actor = acting_user(ctx)
    owner_id = command.owner_id or actor.user_id
    if owner_id != actor.user_id:
        if not actor.is_admin:
            raise Forbidden("only an admin may create a task for another user")
        if await deps.users.get(owner_id) is None:
            raise NotFound("owner")
    events = tasks.decide(tasks.CreateTask(**fields | {"owner_id": owner_id}), tasks.INITIAL)

    async def append(uow: UnitOfWork) -> TaskView:
        recorded = await uow.events.append(
            [StreamAppend(deps.ids.new(), tasks.STREAM_TYPE, 0, list(events))],
            ctx.metadata(),
            deps.clock.now(),
        )
        view = task_view(recorded)
        assert view is not None, "a created task is live"
        return view

    async with deps.uow() as uow:
        view = await once(uow, actor, idempotency, TaskView, deps.clock, lambda: append(uow))
    await deps.cache.tasks_changed([view.id], [view.owner_id])
    return view


async def update_task(command: UpdateTask, ctx: RequestContext, deps: TaskDeps) -> TaskView:
    """Apply the changed fields; a change that changes nothing appends nothing."""
    changes = tasks.UpdateTask(**_as_decided(msgspec.structs.asdict(command.changes)))
    actor = acting_user(ctx)

    async def attempt() -> TaskView:
        async with deps.uow() as uow:
            records = await uow.events.load(command.task_id)
            state = owned_state(records, actor)
            _check_version(command.expected_version, records)
            events = tasks.decide(changes, state)
            if events:
                records += await uow.events.append(
                    [StreamAppend(command.task_id, tasks.STREAM_TYPE, records[-1].version, list(events))],
                    ctx.metadata(),
                    deps.clock.now(),
                )
        if events:
            await deps.cache.tasks_changed([command.task_id], [state.owner_id] if state.owner_id else [])
        view = task_view(records)
        assert view is not None, "an updated task is live"
        return await attach_refund(view, task_state(records).refund_id, deps.refunds, deps.uow)

    return await with_retries(command.expected_version is not None, attempt)


async def delete_task(command: DeleteTask, ctx: RequestContext, deps: TaskDeps) -> None:
    """Delete a task; its history stays in the log."""
    actor = acting_user(ctx)

    async def attempt() -> None:
        async with deps.uow() as uow:
            records = await uow.events.load(command.task_id)
            state = owned_state(records, actor)
            _check_version(command.expected_version, records)
            events = tasks.decide(tasks.DeleteTask(), state)
            await uow.events.append(
                task_appends(command.task_id, state, records[-1].version, events, deps.ids.new),
                ctx.metadata(),
                deps.clock.now(),
            )
        await deps.cache.tasks_changed([command.task_id], [state.owner_id] if state.owner_id else [])

    await with_retries(command.expected_version is not None, attempt)

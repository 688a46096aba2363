"""Task queries: read-model lookups, authorised here."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

import msgspec

from application.access_ports import AccessGate
from application.context import RequestContext
from application.cursors import Cursor, SortKey, decode_cursor, fingerprint, page_of
from application.errors import Forbidden, InvalidInput, NotFound
from application.folds import task_state, task_view
from application.ports import ActivityReadModel, Clock, RefundReadModel, TaskReadModel, UnitOfWorkFactory
from application.refund_views import attach_refund
from application.sessions import admitted_read
from application.tasks import acting_user
from application.views import (
    PRIORITY_RANK,
    ActivityReport,
    EventPage,
    TaskFilter,
    TaskListing,
    TaskPage,
    TaskSort,
    TaskStats,
    TaskView,
    event_view,
    sort_key,
)
from domain.values import Priority, TaskStatus


@dataclass(frozen=True, slots=True)
class TaskReadDeps:
    """What the task queries use."""

    tasks: TaskReadModel
    activity: ActivityReadModel
    refunds: RefundReadModel
    uow: UnitOfWorkFactory  # the log, for a task's history and a task as it was
    clock: Clock
    access_gate: AccessGate  # asked in a cached read's own round trip
    cursor_secret: bytes  # signs the page cursors


class ListTasks(msgspec.Struct, frozen=True):
    statuses: tuple[TaskStatus, ...] = ()
    priorities: tuple[Priority, ...] = ()
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool = False
    text: str | None = None
    owner_id: UUID | None = None
    sort: TaskSort = TaskSort.CREATED_DESC
    limit: int = 20
    cursor: str | None = None


async def get_task(task_id: UUID, ctx: RequestContext, deps: TaskReadDeps) -> TaskView:
    """The task, if the caller may see it (a user: among their own; an admin: anyone's)."""
    actor = acting_user(ctx)

    async def read() -> TaskView:
        view = await deps.tasks.get(task_id, None if actor.is_admin else actor.user_id)
        if view is None or not actor.may_act_on(view.owner_id):
            raise NotFound("task")
        return view

    return await admitted_read(ctx, deps.access_gate, read)


async def get_task_as_of(
    task_id: UUID, version: int | None, as_of: datetime | None, ctx: RequestContext, deps: TaskReadDeps
) -> TaskView:
    """The task as it was at a version or a moment, rebuilt from its events (a task deleted since still shows)."""
    actor = acting_user(ctx)
    async with deps.uow() as uow:
        records = await uow.events.load(task_id, to_version=version, as_of=as_of)
    view = task_view(records) if records and (version is None or records[-1].version == version) else None
    if view is None or not actor.may_act_on(view.owner_id):
        raise NotFound("task")
    return await attach_refund(
        view, task_state(records).refund_id, deps.refunds, deps.uow, as_of or records[-1].recorded_at
    )


async def task_stats(owner_id: UUID | None, ctx: RequestContext, deps: TaskReadDeps) -> TaskStats:
    """The caller's counts; an admin's are every task's, or one owner's."""
    actor = acting_user(ctx)

    async def read() -> TaskStats:
        if owner_id is not None and not actor.may_act_on(owner_id):
            raise Forbidden("only an admin may see another user's stats")
        return await deps.tasks.stats(owner_id if actor.is_admin else actor.user_id)

    return await admitted_read(ctx, deps.access_gate, read)


async def task_history(task_id: UUID, ctx: RequestContext, deps: TaskReadDeps) -> EventPage:
    """Every event of a task, in version order, for its owner or an admin (deleted tasks included)."""
    actor = acting_user(ctx)
    async with deps.uow() as uow:
        records = await uow.events.load(task_id)
    state = task_state(records)
    if not state.created or state.owner_id is None or not actor.may_act_on(state.owner_id):
        raise NotFound("task")
    return EventPage(data=[event_view(record) for record in records])


MAX_ACTIVITY_DAYS = 366


async def task_activity(
    first: date | None, last: date | None, owner_id: UUID | None, ctx: RequestContext, deps: TaskReadDeps
) -> ActivityReport:
    """Created, completed and deleted per UTC day: the caller's tasks (an admin's: all, or one owner's).

    Served by an asynchronous projection, so it may trail the latest writes by a moment (asOfPosition says
    how far it has read)."""
    actor = acting_user(ctx)
    if owner_id is not None and not actor.may_act_on(owner_id):
        raise Forbidden("only an admin may see another user's activity")
    last = last or deps.clock.now().date()
    try:
        first = first or last - timedelta(days=29)
    except OverflowError as exc:
        raise InvalidInput("to", "is too early") from exc
    if first > last:
        raise InvalidInput("from", "must not be after to")
    if (last - first).days > MAX_ACTIVITY_DAYS:
        raise InvalidInput("to", f"must be at most {MAX_ACTIVITY_DAYS} days after from")
    return await deps.activity.activity(owner_id if actor.is_admin else actor.user_id, first, last)


def _filter(query: ListTasks, ctx: RequestContext) -> TaskFilter:
    actor = acting_user(ctx)
    if query.owner_id is not None and not actor.may_act_on(query.owner_id):
        raise Forbidden("only an admin may list another user's tasks")
    if query.due_before and query.due_after and query.due_after >= query.due_before:
        raise InvalidInput("dueAfter", "must be before dueBefore")
    text = query.text.strip() if query.text else None
    return TaskFilter(
        owner_id=query.owner_id if actor.is_admin else actor.user_id,
        statuses=tuple(sorted(set(query.statuses))),
        priorities=tuple(sorted(set(query.priorities))),
        due_before=query.due_before,
        due_after=query.due_after,
        overdue=query.overdue,
        text=text or None,
    )


def _fits(key: SortKey, sort: TaskSort) -> bool:
    """Whether `key` is a value `sort` orders by (a signed cursor is still input: its key reaches the SQL)."""
    column = sort.value.removeprefix("-")
    if column == "priority":
        return isinstance(key, int) and key in PRIORITY_RANK.values()
    if column == "dueDate":
        return key is None or isinstance(key, datetime)
    return isinstance(key, datetime)


async def list_tasks(query: ListTasks, ctx: RequestContext, deps: TaskReadDeps) -> TaskPage:
    """One page of the tasks the caller may see (an admin: all, or one owner's), as of the walk's first page."""
    return await admitted_read(ctx, deps.access_gate, lambda: _list_tasks(query, ctx, deps))


async def _list_tasks(query: ListTasks, ctx: RequestContext, deps: TaskReadDeps) -> TaskPage:
    task_filter = _filter(query, ctx)
    walk = fingerprint([task_filter, query.sort])
    now = deps.clock.now()
    cursor = decode_cursor(deps.cursor_secret, query.cursor, walk, now) if query.cursor else None
    if cursor is not None and not _fits(cursor.key, query.sort):
        raise InvalidInput("cursor", "is not a cursor this service issued")
    began_at = cursor.began_at if cursor else now
    listing = TaskListing(
        filter=task_filter,
        sort=query.sort,
        limit=query.limit + 1,
        after=(cursor.key, cursor.id) if cursor else None,
        snapshot=cursor.snapshot if cursor else None,
    )
    found = await deps.tasks.list(listing)
    if cursor is not None and cursor.epoch != found.epoch:
        raise InvalidInput("cursor", "the task list was rebuilt since this walk began; start again from the first page")
    # Every page of a walk reads as of the first page's snapshot.
    snapshot = listing.snapshot or found.snapshot

    def after(task: TaskView) -> Cursor:
        return Cursor(walk, sort_key(task, query.sort), task.id, began_at, snapshot, found.epoch)

    page, next_cursor = page_of(deps.cursor_secret, found.rows, query.limit, after)
    return TaskPage(data=page, next_cursor=next_cursor)

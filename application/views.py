"""Read-model shapes that queries return (camelCase on the wire)."""

import enum
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from application.records import EventMetadata, RecordedEvent
from domain.refunds import RefundStatus
from domain.values import Money, Priority, Role, TaskStatus


class RefundView(msgspec.Struct, frozen=True, rename="camel"):
    id: UUID
    task_id: UUID
    amount: int
    currency: str
    status: RefundStatus
    attempts: int
    last_error: str | None
    requested_at: datetime
    completed_at: datetime | None


class TaskView(msgspec.Struct, frozen=True, rename="camel"):
    id: UUID
    title: str
    description: str | None
    status: TaskStatus
    priority: Priority
    due_date: datetime | None
    overdue: bool  # from the TaskBecameOverdue event, until the task is completed or its due date moves later
    owner_id: UUID
    fee: Money | None
    refund: RefundView | None
    version: int
    created_at: datetime
    updated_at: datetime


class TaskPage(msgspec.Struct, frozen=True, rename="camel"):
    data: list[TaskView]
    next_cursor: str | None


class UserView(msgspec.Struct, frozen=True, rename="camel"):
    id: UUID
    email: str
    name: str
    role: Role
    created_at: datetime


class UserPage(msgspec.Struct, frozen=True, rename="camel"):
    data: list[UserView]
    next_cursor: str | None


class Credential(msgspec.Struct, frozen=True):
    user_id: UUID
    password_hash: str
    role: Role


class TaskSort(enum.StrEnum):
    CREATED = "createdAt"
    CREATED_DESC = "-createdAt"
    DUE = "dueDate"
    DUE_DESC = "-dueDate"
    PRIORITY = "priority"
    PRIORITY_DESC = "-priority"
    UPDATED = "updatedAt"
    UPDATED_DESC = "-updatedAt"

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


PRIORITY_RANK = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}


def sort_key(task: TaskView, sort: TaskSort) -> datetime | int | None:
    """The value a task is ordered by under `sort` (no due date: None, ordered after every date)."""
    key = sort.value.removeprefix("-")
    if key == "createdAt":
        return task.created_at
    if key == "updatedAt":
        return task.updated_at
    if key == "dueDate":
        return task.due_date
    return PRIORITY_RANK[task.priority]


class TaskStats(msgspec.Struct, frozen=True, rename="camel"):
    total: int
    pending: int
    in_progress: int
    completed: int
    high_priority: int
    overdue: int


class TaskFilter(msgspec.Struct, frozen=True):
    """Which tasks a list shows; `owner_id` None means every owner (admins only)."""

    owner_id: UUID | None = None
    statuses: tuple[TaskStatus, ...] = ()
    priorities: tuple[Priority, ...] = ()
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool = False
    text: str | None = None


class TaskListing(msgspec.Struct, frozen=True):
    """A page request, already authorised: filter, order, and where the previous page ended (no clock: nothing a
    page shows depends on the time it is read)."""

    filter: TaskFilter
    sort: TaskSort
    limit: int
    after: tuple[datetime | int | None, UUID] | None = None
    snapshot: str | None = None


class TaskRows(msgspec.Struct, frozen=True):
    """A page of tasks, and the database snapshot it was read in (None for an empty page)."""

    rows: list[TaskView]
    snapshot: str | None
    epoch: int = 0  # which build of the read table answered (a rebuild replaces it)


class EventView(msgspec.Struct, frozen=True, rename="camel"):
    """An event as auditors and owners read it (the hash chain stays internal)."""

    position: int
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: EventMetadata
    recorded_at: datetime


class EventPage(msgspec.Struct, frozen=True):
    data: list[EventView]


class LogQuery(msgspec.Struct, frozen=True):
    """Which committed events to read: between two (transaction id, position) pairs, in commit order or newest
    first, narrowed by any of the filters."""

    limit: int
    after: tuple[str, int] | None = None
    before: tuple[str, int] | None = None
    newest_first: bool = False
    types: tuple[str, ...] = ()
    stream_types: tuple[str, ...] = ()
    stream_id: UUID | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


class StreamVerification(msgspec.Struct, frozen=True, rename="camel"):
    """One stream checked: versions contiguous from 1 and every hash chained to the one before."""

    stream_id: UUID
    events: int
    intact: bool
    first_broken_version: int | None


def event_view(record: RecordedEvent) -> EventView:
    return EventView(
        position=record.position,
        stream_id=record.stream_id,
        stream_type=record.stream_type,
        version=record.version,
        type=record.type,
        schema_version=record.schema_version,
        data=record.data,
        metadata=record.metadata,
        recorded_at=record.recorded_at,
    )


class ActivityDay(msgspec.Struct, frozen=True):
    date: date
    created: int
    completed: int
    deleted: int


class ActivityReport(msgspec.Struct, frozen=True, rename="camel"):
    data: list[ActivityDay]
    as_of_position: int


class ProjectionState(msgspec.Struct, frozen=True):
    name: str
    position: int
    lag: int
    status: str  # inline | running | stopped

"""The rows of the read tables: each Struct's fields are its table's columns, in order."""

from datetime import date, datetime
from uuid import UUID

import msgspec

from domain.refunds import RefundStatus
from domain.values import Priority, Role, TaskStatus


class TaskRow(msgspec.Struct, frozen=True):
    id: UUID
    owner_id: UUID
    title: str
    description: str | None
    status: TaskStatus
    priority: Priority
    due_date: datetime | None
    overdue: bool
    fee_amount: int | None
    fee_currency: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class TaskCounts(msgspec.Struct, frozen=True):
    owner_id: UUID
    stripe: int  # which of the owner's rows: concurrent commands of one owner mostly move different ones
    total: int
    pending: int
    in_progress: int
    completed: int
    high_priority: int
    overdue: int


class TaskDeadline(msgspec.Struct, frozen=True):
    """A task the overdue check watches: due at `due_date`, and not overdue for it yet."""

    id: UUID
    due_date: datetime


class UserRow(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    name: str
    role: Role
    version: int
    created_at: datetime
    updated_at: datetime
    role_since: datetime | None  # when the role last changed: the user's access tokens from before are refused


class RefundRow(msgspec.Struct, frozen=True):
    id: UUID
    task_id: UUID
    owner_id: UUID
    amount: int
    currency: str
    status: RefundStatus
    attempts: int
    last_error: str | None
    requested_at: datetime
    completed_at: datetime | None
    dismissed: bool
    version: int
    updated_at: datetime


class ActivityCounts(msgspec.Struct, frozen=True):
    owner_id: UUID
    day: date
    created: int
    completed: int
    deleted: int

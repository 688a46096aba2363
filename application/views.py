"""Read-model shapes that queries return (camelCase on the wire)."""

import enum
from datetime import datetime
from uuid import UUID

import msgspec

from domain.values import Money, Priority, Role, TaskStatus


class RefundStatus(enum.StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


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


class TaskListing(msgspec.Struct, frozen=True):
    """A page request, already authorised: `owner_id` None means every owner (admins only)."""

    owner_id: UUID | None
    statuses: tuple[TaskStatus, ...] = ()
    priorities: tuple[Priority, ...] = ()
    limit: int = 20
    after: tuple[datetime, UUID] | None = None

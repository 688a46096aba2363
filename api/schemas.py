"""Request bodies and response envelopes: msgspec Structs, camelCase on the wire, unknown fields refused."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from application.batch import MAX_BATCH, BatchAction
from application.views import UserView
from domain.values import Money, Priority, Role, TaskStatus

# No control characters; 1-200 characters once the surrounding whitespace is trimmed.
_PRINTABLE = r"[^\x00-\x1f\x7f]"
_SOLID = r"[^\x00-\x1f\x7f\s]"
Title = Annotated[
    str,
    msgspec.Meta(
        max_length=1000,
        pattern=rf"^\s*{_SOLID}(?:{_PRINTABLE}{{0,198}}{_SOLID})?\s*$",
        description="1-200 characters after trimming, no control characters",
        examples=["Write the quarterly report"],
    ),
]
# Tab and line breaks are allowed in a description; other control characters nowhere.
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Description = Annotated[str, msgspec.Meta(max_length=10_000, pattern=NO_CONTROL)]
Name = Annotated[str, msgspec.Meta(max_length=300, pattern=rf"^\s*{_SOLID}(?:{_PRINTABLE}{{0,98}}{_SOLID})?\s*$")]
Email = Annotated[
    str,
    msgspec.Meta(
        max_length=254,
        pattern=r"^\s*[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+\s*$",
        examples=["ada@example.com"],
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with an offset; stored in UTC")]
RefreshToken = Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_-]+$")]


class Body(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """Base of request bodies."""


class RegisterBody(Body):
    email: Email
    name: Name
    password: Password


class LoginBody(Body):
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=NO_CONTROL)]
    password: Annotated[str, msgspec.Meta(max_length=128)]


class RefreshBody(Body):
    refresh_token: RefreshToken


class RoleBody(Body):
    role: Role


class CreateTaskBody(Body):
    title: Title
    description: Description | None = None
    status: TaskStatus = TaskStatus.PENDING
    priority: Priority = Priority.MEDIUM
    due_date: Timestamp | None = None
    fee: Money | None = None
    owner_id: UUID | None = None


class UpdateTaskBody(Body):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    status: TaskStatus | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    due_date: Timestamp | UnsetType | None = UNSET
    fee: Money | UnsetType | None = UNSET


class BatchBody(Body):
    action: BatchAction
    task_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class SessionResponse(msgspec.Struct, frozen=True, rename="camel"):
    user: UserView
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret


class BatchError(msgspec.Struct, frozen=True):
    status: int
    title: str


class BatchResult(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    task_id: UUID
    ok: bool
    error: BatchError | None = None


class BatchResponse(msgspec.Struct, frozen=True, rename="camel"):
    results: list[BatchResult]
    succeeded: int
    failed: int


class Health(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, str]

"""Value types shared by the aggregates."""

import enum
from datetime import datetime
from typing import Annotated

import msgspec


class TaskStatus(enum.StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class Priority(enum.StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class Role(enum.StrEnum):
    ADMIN = "admin"
    USER = "user"


class Money(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An amount in minor units (cents) of an ISO 4217 currency."""

    amount: Annotated[int, msgspec.Meta(gt=0, le=10**12)]
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]


Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=10_000)]
DueDate = datetime

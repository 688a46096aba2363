"""Value types shared by the aggregates."""

import enum
import re
from datetime import UTC, datetime
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


# A task's title once trimmed, its description, a user's name once trimmed, an email address: at most this long.
TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
NAME_MAX = 100
EMAIL_MAX = 254
# Dates the service stores and reads back exactly (PostgreSQL, JSON and Python all agree on these).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)
# Control characters, except the tab and line breaks a description may hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(text: str, *, line_breaks: bool = False) -> bool:
    return bool(_CONTROL.search(text)) or (not line_breaks and any(c in text for c in "\t\n\r"))

"""The one registry of event types: names on the log, schema versions, and the upcasters read through."""

from collections.abc import Callable
from typing import Any

import msgspec

from domain import refunds, tasks, users

DomainEvent = tasks.TaskEvent | users.UserEvent | refunds.RefundEvent

EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        tasks.TaskCreated,
        tasks.TaskUpdated,
        tasks.TaskCompleted,
        tasks.TaskDeleted,
        tasks.TaskRefundRequested,
        tasks.TaskBecameOverdue,
        users.UserRegistered,
        users.UserRoleChanged,
        refunds.RefundRequested,
        refunds.RefundAttemptFailed,
        refunds.RefundSucceeded,
        refunds.RefundFailed,
        refunds.RefundRetried,
        refunds.RefundDismissed,
    )
}

SCHEMA_VERSIONS: dict[str, int] = dict.fromkeys(EVENT_TYPES, 1) | {"TaskCreated": 2}


def _task_created_v1(data: dict[str, Any]) -> dict[str, Any]:
    """TaskCreated v1 predates fees; v2 says "no fee" explicitly."""
    return {"fee": None} | data


# (type, stored version) -> the shape of version + 1: old shapes are upcast on read, the log is never rewritten.
UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("TaskCreated", 1): _task_created_v1,
}


def upcast(type_: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """`data` stored at `schema_version`, brought up to the current version of its type."""
    current = SCHEMA_VERSIONS.get(type_, schema_version)
    for version in range(schema_version, current):
        data = UPCASTERS[(type_, version)](data)
    return data


class UnknownEventType(Exception):
    """The log holds an event type this code does not know."""


def type_name(event: DomainEvent) -> str:
    return type(event).__name__


def to_data(event: DomainEvent) -> dict[str, Any]:
    """The event's fields as JSON-ready builtins (camelCase keys)."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    return data


def from_data(type_: str, schema_version: int, data: Any) -> DomainEvent:
    """Rebuild an event from its stored shape, upcast to the current one."""
    cls = EVENT_TYPES.get(type_)
    if cls is None:
        raise UnknownEventType(type_)
    return msgspec.convert(upcast(type_, schema_version, data), cls, strict=False)

"""The one registry of event types: their names on the log and their current schema versions."""

from typing import Any

import msgspec

from domain import tasks, users

DomainEvent = tasks.TaskEvent | users.UserEvent

EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        tasks.TaskCreated,
        tasks.TaskUpdated,
        tasks.TaskCompleted,
        tasks.TaskDeleted,
        users.UserRegistered,
        users.UserRoleChanged,
    )
}

SCHEMA_VERSIONS: dict[str, int] = dict.fromkeys(EVENT_TYPES, 1)


class UnknownEventType(Exception):
    """The log holds an event type this code does not know."""


def type_name(event: DomainEvent) -> str:
    return type(event).__name__


def to_data(event: DomainEvent) -> dict[str, Any]:
    """The event's fields as JSON-ready builtins (camelCase keys)."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    return data


def from_data(type_: str, schema_version: int, data: Any) -> DomainEvent:
    """Rebuild an event from its stored shape."""
    cls = EVENT_TYPES.get(type_)
    if cls is None:
        raise UnknownEventType(type_)
    return msgspec.convert(data, cls, strict=False)

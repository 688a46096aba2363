"""Reduce a run of events to one change per row, so a projection writes each table with one statement."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from application.records import RecordedEvent


class RowChange(msgspec.Struct):
    """What a run of one stream's events does to its row: create it, patch it, or delete it."""

    id: UUID
    version: int
    at: datetime
    created_at: datetime | None = None
    row: dict[str, Any] | None = None
    patch: dict[str, Any] = msgspec.field(default_factory=dict)
    deleted: bool = False


# Given an event's type and data: ("create", fields) | ("patch", fields) | ("delete", None) | None to ignore.
EventEffect = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any] | None] | None]


def reduce_changes(records: Iterable[RecordedEvent], effect: EventEffect) -> list[RowChange]:
    changes: dict[UUID, RowChange] = {}
    for record in records:
        outcome = effect(record.type, record.data)
        if outcome is None:
            continue
        kind, fields = outcome
        change = changes.get(record.stream_id)
        if change is None:
            change = changes[record.stream_id] = RowChange(record.stream_id, record.version, record.recorded_at)
        change.version, change.at = record.version, record.recorded_at
        if kind == "create":
            change.row, change.created_at, change.patch, change.deleted = (
                dict(fields or {}),
                record.recorded_at,
                {},
                False,
            )
        elif kind == "patch":
            (change.row if change.row is not None else change.patch).update(fields or {})
        else:
            change.deleted = True
    return list(changes.values())

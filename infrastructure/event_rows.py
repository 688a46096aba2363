"""Events as the `events` table holds them: the columns to select, and a row back into a RecordedEvent."""

from collections.abc import Sequence
from typing import Any

import msgspec

from application.records import EventMetadata, RecordedEvent

EVENT_COLUMNS = "position, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash"


def record_from_row(row: Sequence[Any]) -> RecordedEvent:
    position, stream_id, stream_type, version, type_, schema_version, data, metadata, recorded_at, hash_ = row
    return RecordedEvent(
        position=position,
        stream_id=stream_id,
        stream_type=stream_type,
        version=version,
        type=type_,
        schema_version=schema_version,
        data=data,
        metadata=msgspec.convert(metadata, EventMetadata),
        recorded_at=recorded_at,
        hash=bytes(hash_),
    )

"""Events as the `events` table holds them: the columns to select, and a row back into a RecordedEvent."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from application.records import EventMetadata, RecordedEvent

EVENT_COLUMNS = "position, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash"


def record_from_row(row: Sequence[Any]) -> RecordedEvent:
    """A record from a row of EVENT_COLUMNS."""
    *head, metadata, recorded_at, hash_ = row
    return _record(head, msgspec.convert(metadata, EventMetadata), recorded_at, bytes(hash_))


# What a rebuild's fold reads: every column but the metadata and the hash, which no projection looks at. Not
# selecting them spares their transfer and decoding (converting the metadata alone was 8% of a rebuild).
FOLD_COLUMNS = "position, stream_id, stream_type, version, type, schema_version, data, recorded_at"
_NOT_READ = EventMetadata()


def fold_record_from_row(row: Sequence[Any]) -> RecordedEvent:
    """A record for a fold from a row of FOLD_COLUMNS: its metadata and hash are empty stand-ins."""
    *head, recorded_at = row
    return _record(head, _NOT_READ, recorded_at, b"")


def _record(head: Sequence[Any], metadata: EventMetadata, recorded_at: datetime, hash_: bytes) -> RecordedEvent:
    position, stream_id, stream_type, version, type_, schema_version, data = head
    return RecordedEvent(
        position=position,
        stream_id=stream_id,
        stream_type=stream_type,
        version=version,
        type=type_,
        schema_version=schema_version,
        data=data,
        metadata=metadata,
        recorded_at=recorded_at,
        hash=hash_,
    )

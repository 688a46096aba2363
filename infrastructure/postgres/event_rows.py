"""Events as the `events` table holds them: the columns to select, and a row back into a RecordedEvent."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from application.records import EventMetadata, RecordedEvent

EVENT_COLUMNS = "position, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash"


def record_from_row(row: Sequence[Any]) -> RecordedEvent:
    """A record from a row of EVENT_COLUMNS."""
    *head, metadata, recorded_at, hash_ = row
    return _record(head, msgspec.convert(metadata, EventMetadata), recorded_at, bytes(hash_))


# What a rebuild's fold reads, as one JSON array an event (no metadata, hash, position or stream type): PostgreSQL
# formats it on its own core while the rebuild folds, and msgspec decodes it in one pass, cheaper than psycopg's
# conversion of the columns.
FOLD_JSON = "json_build_array(stream_id, version, type, schema_version, data, recorded_at)::text"
_FOLD_ROW = msgspec.json.Decoder(tuple[UUID, int, str, int, dict[str, Any], datetime])
_NOT_READ = EventMetadata()


def fold_record_from_json(text: str, stream_type: str) -> RecordedEvent:
    """A record for a fold from a FOLD_JSON value of a `stream_type` event: position, metadata and hash are empty
    stand-ins."""
    stream_id, version, type_, schema_version, data, recorded_at = _FOLD_ROW.decode(text)
    return _record((0, stream_id, stream_type, version, type_, schema_version, data), _NOT_READ, recorded_at, b"")


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

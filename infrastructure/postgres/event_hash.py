"""The per-stream hash chain that makes the log tamper-evident, and the records an append writes."""

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from uuid import UUID

import msgspec

from application.records import EventMetadata, RecordedEvent, StreamAppend
from domain.events import SCHEMA_VERSIONS, to_data, type_name

_ENCODER = msgspec.json.Encoder(order="sorted")


def _rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds (`...T08:00:00.000000Z`), as strftime would write it, at a fraction of its
    cost (the hash of every appended event needs one)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


def event_hash(previous: bytes, record: RecordedEvent) -> bytes:
    """The hash of `record`, chained to the hash of the event before it in its stream: SHA-256(previous ||
    canonical), where canonical is the compact JSON array [stream_id, stream_type, version, type, schema_version,
    data, metadata, recorded_at] with keys sorted and recorded_at in RFC 3339 UTC with microseconds (JSONB keeps
    values, not formatting, so the table can recompute it)."""
    canonical = _ENCODER.encode(
        [
            str(record.stream_id),
            record.stream_type,
            record.version,
            record.type,
            record.schema_version,
            record.data,
            msgspec.to_builtins(record.metadata),
            _rfc3339(record.recorded_at),
        ]
    )
    return hashlib.sha256(previous + canonical).digest()


def new_records(
    appends: Sequence[StreamAppend],
    heads: Mapping[UUID, bytes],
    metadata: EventMetadata,
    recorded_at: datetime,
) -> list[RecordedEvent]:
    """The records of an append, versioned and hash-chained from each stream's head (position still 0)."""
    records: list[RecordedEvent] = []
    for append in appends:
        previous = heads.get(append.stream_id, b"")
        for offset, event in enumerate(append.events, start=1):
            type_ = type_name(event)
            record = RecordedEvent(
                position=0,
                stream_id=append.stream_id,
                stream_type=append.stream_type,
                version=append.expected_version + offset,
                type=type_,
                schema_version=SCHEMA_VERSIONS[type_],
                data=to_data(event),
                metadata=metadata,
                recorded_at=recorded_at,
                hash=b"",
            )
            previous = event_hash(previous, record)
            records.append(msgspec.structs.replace(record, hash=previous))
    return records

"""What the event store takes and gives back: appends by stream, and recorded events with their envelope."""

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.events import DomainEvent, from_data


class EventMetadata(msgspec.Struct, frozen=True, rename="camel"):
    actor_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    request_id: str | None = None


class StreamAppend(msgspec.Struct, frozen=True):
    """Events for one stream, valid only if the stream is still at `expected_version` (0: new stream)."""

    stream_id: UUID
    stream_type: str
    expected_version: int
    events: list[DomainEvent]


class RecordedEvent(msgspec.Struct, frozen=True):
    position: int
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: EventMetadata
    recorded_at: datetime
    hash: bytes

    def event(self) -> DomainEvent:
        """The domain event this record holds, upcast to its current shape."""
        return from_data(self.type, self.schema_version, self.data)

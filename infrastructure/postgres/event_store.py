"""The PostgreSQL event store of one unit of work: reads at once, writes when the unit of work commits."""

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import TupleRow

from application.errors import ConcurrencyError
from application.projections.kinds import changes
from application.projections.registry import BY_NAME, INLINE, stream_types_read
from application.records import EventMetadata, RecordedEvent, StreamAppend
from application.streams import Stream, fold
from domain.events import DomainEvent
from infrastructure.postgres.event_hash import new_records
from infrastructure.postgres.event_rows import EVENT_COLUMNS, record_from_row
from infrastructure.postgres.projections.statements import Statement, write_changes

CHANNEL = "taskflow_events"
# Followers are woken by a NOTIFY, but PostgreSQL serialises the commits of every transaction that notifies (a
# lock held through the commit's flush): a process notifies with at most one append in this long, and followers
# look again shortly after each batch they handle, so the appends in between are not waited for.
NOTIFY_QUIET_SECONDS = 0.05


class _Wakeups:
    """When this process last notified the followers."""

    last = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < NOTIFY_QUIET_SECONDS:
            return False
        self.last = now
        return True


WAKEUPS = _Wakeups()

# The events of one unit of work share their metadata and time (one append): given once, not parsed a row each.
_APPEND = """
INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)
SELECT stream_id, stream_type, version, type, schema_version, data, %s::jsonb, %s, decode(hash, 'base64')
FROM jsonb_to_recordset(%s::jsonb) AS r(stream_id uuid, stream_type text, version int, type text, schema_version int,
                                        data jsonb, hash text)
ORDER BY stream_id, version
RETURNING stream_id, version, position
"""
# Several appends of different metadata or time in one unit of work (a seed): each row says its own.
_APPEND_EACH = """
INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)
SELECT stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, decode(hash, 'base64')
FROM jsonb_to_recordset(%s::jsonb) AS r(stream_id uuid, stream_type text, version int, type text, schema_version int,
                                        data jsonb, metadata jsonb, recorded_at timestamptz, hash text)
ORDER BY stream_id, version
RETURNING stream_id, version, position
"""
_RETURN = "SELECT stream_id, version, position FROM w0"
_RETURN_AND_NOTIFY = f"SELECT stream_id, version, position FROM w0, (SELECT pg_notify('{CHANNEL}', '')) AS woken"


_ENCODE = msgspec.json.Encoder().encode
INLINE_READS = stream_types_read(INLINE)


class PostgresEventStore:
    """An append is checked and hash-chained when made, against the streams this unit of work read, and sent when the
    unit of work ends as one statement with every inline projection's rows: a lost race fails it whole."""

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        self._conn = conn
        self._read: dict[UUID, list[RecordedEvent]] = {}  # whole streams as this unit of work read them
        self._staged: list[tuple[RecordedEvent, DomainEvent]] = []  # appended, to be written at the commit
        self.appended: list[RecordedEvent] = []  # what the commit wrote, with positions

    def _current(self, stream_id: UUID) -> list[RecordedEvent]:
        return self._read.get(stream_id, []) + [record for record, _ in self._staged if record.stream_id == stream_id]

    async def load(
        self, stream_id: UUID, *, to_version: int | None = None, as_of: datetime | None = None
    ) -> list[RecordedEvent]:
        cursor = await self._conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = %s"
            " AND (%s::int IS NULL OR version <= %s) AND (%s::timestamptz IS NULL OR recorded_at <= %s)"
            " ORDER BY version",
            (stream_id, to_version, to_version, as_of, as_of),
        )
        records = [record_from_row(row) for row in await cursor.fetchall()]
        if to_version is not None or as_of is not None:
            return records
        self._read[stream_id] = records
        return self._current(stream_id)

    async def load_many(self, stream_ids: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        await self._read_streams(stream_ids)
        found = {stream_id: self._current(stream_id) for stream_id in stream_ids}
        return {stream_id: records for stream_id, records in found.items() if records}

    async def _read_streams(self, stream_ids: Sequence[UUID]) -> None:
        cursor = await self._conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ANY(%s) ORDER BY stream_id, version",
            (list(stream_ids),),
        )
        read: dict[UUID, list[RecordedEvent]] = {stream_id: [] for stream_id in stream_ids}
        for row in await cursor.fetchall():
            record = record_from_row(row)
            read[record.stream_id].append(record)
        self._read.update(read)

    async def append(
        self, appends: Sequence[StreamAppend], metadata: EventMetadata, recorded_at: datetime
    ) -> list[RecordedEvent]:
        """Check and stage the appends; they are written when the unit of work commits (positions then)."""
        unread = [a.stream_id for a in appends if a.expected_version > 0 and a.stream_id not in self._read]
        if unread:
            await self._read_streams(unread)  # the inline projections need what these streams were
        heads: dict[UUID, bytes] = {}
        for append in appends:
            stream = self._current(append.stream_id)
            if len(stream) != append.expected_version:
                raise ConcurrencyError()
            if stream:
                heads[append.stream_id] = stream[-1].hash
        records = new_records(appends, heads, metadata, recorded_at)
        events = [event for append in appends for event in append.events]
        self._staged.extend(zip(records, events, strict=True))
        return records

    async def flush(self) -> None:
        """Write the staged events and their inline projections' rows: one statement."""
        if not self._staged:
            return
        staged, self._staged = self._staged, []
        before: dict[UUID, Stream[Any] | None] = {}
        for record, _ in staged:
            if record.stream_id not in before and record.stream_type in INLINE_READS:
                before[record.stream_id] = fold(self._read.get(record.stream_id, []))
        statement = Statement()
        # The records themselves, as JSON: jsonb_to_recordset takes the columns it names (not `position`, 0 here).
        records = [record for record, _ in staged]
        first = records[0]
        if all(r.metadata == first.metadata and r.recorded_at == first.recorded_at for r in records):
            metadata = _ENCODE(first.metadata).decode()
            statement.add(_APPEND, metadata, first.recorded_at, _ENCODE(records).decode())
        else:
            statement.add(_APPEND_EACH, _ENCODE(records).decode())
        if before:  # some appended stream is one an inline projection reads
            write_changes(statement, BY_NAME, changes(INLINE, before, staged))
        text = statement.text(_RETURN_AND_NOTIFY if WAKEUPS.due() else _RETURN)
        try:
            cursor = await self._conn.execute(text, statement.params)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected) as exc:
            raise ConcurrencyError() from exc  # a concurrent writer moved one of the streams first
        positions = {(stream_id, version): position for stream_id, version, position in await cursor.fetchall()}
        written = [msgspec.structs.replace(r, position=positions[(r.stream_id, r.version)]) for r, _ in staged]
        for record in written:
            self._read.setdefault(record.stream_id, []).append(record)
        self.appended += written

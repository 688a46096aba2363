"""Projections applied by log followers, through the registry's definitions (as the inline append applies them)."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.projections.kinds import Table, changes
from application.projections.registry import BY_NAME
from application.records import RecordedEvent
from application.streams import Stream, advance, fold
from domain.events import DomainEvent
from infrastructure.postgres.event_rows import EVENT_COLUMNS, record_from_row
from infrastructure.postgres.projections.statements import Statement, write_changes

Connection = psycopg.AsyncConnection[TupleRow]

_HISTORY = f"""
SELECT {EVENT_COLUMNS} FROM events e
JOIN unnest(%s::uuid[], %s::int[]) AS b(stream_id, first_version) USING (stream_id)
WHERE e.version < b.first_version
ORDER BY e.stream_id, e.version
"""


async def streams_before(conn: Connection, records: Sequence[RecordedEvent]) -> dict[UUID, Stream[Any] | None]:
    """Each stream of `records` as it was before the first of them: its earlier events, read in one query and
    folded."""
    first: dict[UUID, int] = {}
    for record in records:
        first.setdefault(record.stream_id, record.version)
    earlier = [(stream_id, version) for stream_id, version in first.items() if version > 1]
    history: dict[UUID, list[RecordedEvent]] = {}
    if earlier:
        cursor = await conn.execute(_HISTORY, ([s for s, _ in earlier], [v for _, v in earlier]))
        for row in await cursor.fetchall():
            record = record_from_row(row)
            history.setdefault(record.stream_id, []).append(record)
    return {stream_id: fold(history.get(stream_id, [])) for stream_id in first}


async def followed_events(
    conn: Connection, records: Sequence[RecordedEvent], stream_types: frozenset[str], needs_state: bool
) -> list[tuple[RecordedEvent, DomainEvent, Stream[Any] | None, Stream[Any] | None]]:
    """The records of `stream_types`, each with its event (upcast) and, if `needs_state`, its stream before and
    after it."""
    chosen = [record for record in records if record.stream_type in stream_types]
    if not needs_state:
        return [(record, record.event(), None, None) for record in chosen]
    streams = await streams_before(conn, chosen)
    found: list[tuple[RecordedEvent, DomainEvent, Stream[Any] | None, Stream[Any] | None]] = []
    for record in chosen:
        event = record.event()
        prior = streams[record.stream_id]
        streams[record.stream_id] = after = advance(prior, record, event)
        found.append((record, event, prior, after))
    return found


class ProjectionFollower:
    """A follower that keeps a table projection of the registry (into `suffix`ed tables during a rebuild)."""

    def __init__(self, projection: Table[Any], suffix: str = "") -> None:
        self.name = projection.name
        self._projection = projection
        self._suffix = suffix

    async def handle(self, conn: Connection, records: Sequence[RecordedEvent]) -> None:
        await apply_projections(conn, [self._projection], records, self._suffix)


async def apply_projections(
    conn: Connection, projections: Sequence[Table[Any]], records: Sequence[RecordedEvent], suffix: str = ""
) -> None:
    """Apply `records` (in commit order) to the tables of `projections`, in one statement."""
    types = frozenset().union(*(p.stream_types for p in projections))
    chosen = [record for record in records if record.stream_type in types]
    if not chosen:
        return
    before = await streams_before(conn, chosen)
    statement = Statement()
    write_changes(statement, BY_NAME, changes(projections, before, [(r, r.event()) for r in chosen]), suffix)
    if statement.ctes:
        await conn.execute(statement.text("SELECT 1"), statement.params)

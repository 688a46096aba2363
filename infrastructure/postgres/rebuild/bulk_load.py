"""The rebuild's bulk load: every stream of the log as of one snapshot, folded and COPYed into the new table."""

import asyncio
import gc
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg import postgres, sql
from psycopg.adapt import Dumper
from psycopg.pq import Format

from application.projections.kinds import Rows, Sums, Totals
from application.records import RecordedEvent
from application.streams import fold
from infrastructure.postgres.event_rows import FOLD_JSON, fold_record_from_json
from infrastructure.postgres.rebuild.tables import BATCH, SUFFIX, Connection, Progress

log = logging.getLogger(__name__)

# A row version rebuilt from the log is visible to every snapshot, so walks in progress stay whole.
ALWAYS_VISIBLE = 3
READ_LOG = f"SELECT {FOLD_JSON} FROM events WHERE stream_type = %s ORDER BY stream_id, version"


class Load:
    """What a bulk load writes for a projection, as the registry defines it: a row per stream (Rows), or counts
    summed over the streams (Totals), written at the end."""

    def __init__(self, projection: Rows[Any] | Totals[Any]) -> None:
        self.projection = projection
        versioned = isinstance(projection, Rows) and projection.versioned
        self.columns = projection.columns + (("valid_from",) if versioned else ())
        self._tail = (ALWAYS_VISIBLE,) if versioned else ()
        self._sums = Sums(projection)

    def rows(self, streams: list[list[RecordedEvent]]) -> list[tuple[Any, ...]]:
        """The rows to COPY for these whole streams (Totals: none until the end)."""
        projection = self.projection
        if isinstance(projection, Rows):
            return [
                msgspec.structs.astuple(row) + self._tail
                for records in streams
                if (stream := fold(records)) is not None and (row := projection.row(stream)) is not None
            ]
        for records in streams:
            if (stream := fold(records)) is not None and (counts := projection.counts(stream)) is not None:
                self._sums.add(counts)
        return []

    def last_rows(self) -> list[tuple[Any, ...]]:
        return [msgspec.structs.astuple(row) for row in self._sums.changes().added]


def _streams(rows: Iterator[RecordedEvent]) -> Iterator[list[RecordedEvent]]:
    stream: list[RecordedEvent] = []
    for record in rows:
        if stream and record.stream_id != stream[0].stream_id:
            yield stream
            stream = []
        stream.append(record)
    if stream:
        yield stream


class _Xid8Dumper(Dumper):
    """xid8 in binary COPY (psycopg has no dumper for it): a transaction id is an unsigned 64-bit integer."""

    format = Format.BINARY
    oid = postgres.types["xid8"].oid

    def dump(self, obj: int) -> bytes:
        return obj.to_bytes(8, "big")


async def _column_types(conn: Connection, table: str, columns: Sequence[str]) -> list[int]:
    cursor = await conn.execute(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (table,),
    )
    oid_by_name = {name: int(oid) for name, oid in await cursor.fetchall()}
    return [oid_by_name[column] for column in columns]


async def _copy(conn: Connection, copy: sql.Composed, types: Sequence[int], rows: list[tuple[Any, ...]]) -> None:
    """COPY the rows in binary (psycopg formats it in C), in a transaction of their own."""
    async with conn.cursor().copy(copy) as writer:
        writer.set_types(types)
        for row in rows:
            await writer.write_row(row)


async def _stopped(*tasks: asyncio.Future[Any] | None, leaving: BaseException) -> None:
    """Cancel the tasks still running and wait until they have stopped. A failure of theirs other than the error
    the caller is leaving with (which came first) is logged, not lost."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for outcome in await asyncio.gather(*running, return_exceptions=True):
        if isinstance(outcome, Exception) and outcome is not leaving:
            log.error("rebuild: a step failed while the load stopped", exc_info=outcome)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """A fold makes millions of short-lived objects, all freed by reference counting; the cyclic collector's passes
    over them (and over everything the process has imported) cost a third of a bulk load's CPU."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def copy_from_log(database_url: str, conn: Connection, load: Load, progress: Progress) -> tuple[str, str]:
    """Fold and COPY every stream the projection reads as of one snapshot; returns that snapshot, and the oldest of
    this database's transactions it saw running (events_horizon()): where the events it missed begin.

    The log is read on a read-only connection of its own, which takes no transaction id: a long rebuild must
    not hold back the followers, which read only below the oldest running transaction. Three things overlap:
    PostgreSQL reads and formats the next batch of the log while this process folds the current one and the
    previous one's rows are COPYed, each batch in a short transaction of its own, on `conn`."""
    (stream_type,) = load.projection.stream_types
    table = load.projection.name + SUFFIX
    types = await _column_types(conn, table, load.columns)
    conn.adapters.register_dumper(None, _Xid8Dumper)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in load.columns)
    copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(sql.Identifier(table), columns)
    async with (
        await psycopg.AsyncConnection.connect(database_url) as reader,
        reader.transaction(),
        reader.cursor(name="rebuild") as events,
    ):
        await reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        await reader.execute("SET TIME ZONE 'UTC'")  # timestamps as RFC 3339 with a whole-minute offset, for msgspec
        cursor = await reader.execute("SELECT pg_current_snapshot()::text, events_horizon()::text")
        row = await cursor.fetchone()
        assert row is not None
        snapshot, horizon = str(row[0]), str(row[1])
        await events.execute(READ_LOG, (stream_type,))
        carried: list[RecordedEvent] = []
        pending = asyncio.ensure_future(events.fetchmany(BATCH))
        writing: asyncio.Task[None] | None = None
        try:
            with _cycle_collector_paused():
                while rows := await pending:
                    pending = asyncio.ensure_future(events.fetchmany(BATCH))
                    await asyncio.sleep(0)  # the FETCH goes out: PostgreSQL works on it while this batch is folded
                    records = carried + [fold_record_from_json(r[0], stream_type) for r in rows]
                    streams = list(_streams(iter(records)))
                    carried = streams.pop() if len(rows) == BATCH else []  # it may go on in the next batch
                    folded = load.rows(streams)
                    if writing:
                        await writing
                    writing = asyncio.create_task(_copy(conn, copy, types, folded))
                    progress(len(rows))
            if writing:
                await writing
            await _copy(conn, copy, types, load.rows([carried] if carried else []) + load.last_rows())
        except BaseException as error:
            # Nothing of this load may still be running on either connection when the error leaves.
            await _stopped(pending, writing, leaving=error)
            raise
    return snapshot, horizon

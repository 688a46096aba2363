"""Rebuild a projection's table from the log beside the live one, then swap it in.

An inline projection (the registry's Rows and Totals):
1. A fresh `<table>__next` (columns, defaults, checks; no indexes yet, so the load is fast).
2. Bulk: one REPEATABLE READ read of the log (snapshot S) through a server-side cursor, one stream at a time
   folded by the registry's definition and written with COPY: constant memory, whatever the log's size.
3. The live table's indexes and keys, recreated on the new table under `__next` names (INDEX_CONNECTIONS at once).
4. Catch up, in commit order, on the events S did not see, with the computation the inline append makes.
5. Swap, in one short transaction: lock `events` (in-flight appends finish, new ones wait), lock the live table,
   apply the last events, drop the old table and give the new one, its indexes and keys the live names.
A follower's table is rebuilt by following the whole log into a new table, then handing over its checkpoint.
The API keeps reading the old table until the swap commits; commands wait only for the swap itself.
"""

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any, NamedTuple

import msgspec
import psycopg
from psycopg import postgres, sql
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.rows import TupleRow

from application.projections.kinds import Mode, Rows, Sums, Table, Totals
from application.projections.registry import BY_NAME
from application.records import RecordedEvent
from application.streams import fold
from infrastructure.event_rows import EVENT_COLUMNS, FOLD_JSON, fold_record_from_json, record_from_row
from infrastructure.followers import BATCH_QUERY as FOLLOWER_BATCH
from infrastructure.followers import Follower
from infrastructure.postgres import configure
from infrastructure.projections.followed import ProjectionFollower, apply_projections

log = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[TupleRow]
BATCH = 5_000
INDEX_CONNECTIONS = 2  # index builds side by side (PostgreSQL may add parallel workers to each)
SWAP_ATTEMPTS = 300
SWAP_LOCK_WAIT_MS = 200
SWAP_PAUSE_SECONDS = 0.2
SUFFIX = "__next"
# A row version rebuilt from the log is visible to every snapshot, so walks in progress stay whole.
ALWAYS_VISIBLE = 3

Progress = Callable[[int], None]
READ_LOG = f"SELECT {FOLD_JSON} FROM events WHERE stream_type = %s ORDER BY stream_id, version"


class _Load:
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


async def _prepare(conn: Connection, tables: Sequence[str]) -> None:
    for table in tables:
        fresh = sql.Identifier(table + SUFFIX)
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(fresh))
        await conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS)").format(
                fresh, sql.Identifier(table)
            )
        )
        # LIKE does not copy storage parameters (tasks_view's fillfactor keeps room for HOT supersedes).
        cursor = await conn.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", (table,))
        row = await cursor.fetchone()
        if row and row[0]:
            options = sql.SQL(", ").join(sql.SQL(option) for option in row[0])
            await conn.execute(sql.SQL("ALTER TABLE {} SET ({})").format(fresh, options))


@asynccontextmanager
async def _working_connection(database_url: str) -> AsyncIterator[Connection]:
    """A connection of the rebuild's own: autocommit, configured as the service's, with no statement timeout (a
    bulk load or an index build may take minutes)."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await configure(conn)
        await conn.execute("SET statement_timeout = 0")
        yield conn


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


async def _bulk(database_url: str, conn: Connection, load: _Load, progress: Progress) -> tuple[str, str]:
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


class _Index(NamedTuple):
    name: str
    table: str
    definition: str  # on the new table, under the new name
    constraint: str | None
    kind: str | None


async def _index(
    database_url: str, conn: Connection, tables: Sequence[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Recreate the live indexes and keys on the new tables, INDEX_CONNECTIONS builds at a time; returns the
    (index, table) and (key, table) names."""
    wanted: list[_Index] = []
    for table in tables:
        cursor = await conn.execute(
            "SELECT i.indexname, i.indexdef, c.conname, c.contype FROM pg_indexes i"
            " LEFT JOIN pg_constraint c ON c.conname = i.indexname AND c.conrelid = %s::regclass"
            " WHERE i.tablename = %s AND i.schemaname = current_schema()",
            (table, table),
        )
        for index, definition, constraint, kind in await cursor.fetchall():
            fresh = definition.replace(f"INDEX {index} ON ", f"INDEX {index}{SUFFIX} ON ", 1).replace(
                f".{table} ", f".{table}{SUFFIX} ", 1
            )
            wanted.append(_Index(index, table, fresh, constraint, kind))
    # The slowest builds (GIN, GiST: not btree) first, so the btrees fill the other connections meanwhile.
    queue = iter(sorted(wanted, key=lambda index: " USING btree " in index.definition))

    async def build(builder: Connection) -> None:
        for index in queue:
            await builder.execute(index.definition)

    async with AsyncExitStack() as stack:
        builders = [conn]
        for _ in range(INDEX_CONNECTIONS - 1):
            builders.append(await stack.enter_async_context(_working_connection(database_url)))
        async with asyncio.TaskGroup() as tasks:
            for builder in builders:
                tasks.create_task(build(builder))
    keys: list[tuple[str, str]] = []
    for index in wanted:
        if index.constraint:
            key = "PRIMARY KEY" if index.kind == "p" else "UNIQUE"
            await conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} " + key + " USING INDEX {}").format(
                    sql.Identifier(index.table + SUFFIX),
                    sql.Identifier(index.constraint + SUFFIX),
                    sql.Identifier(index.name + SUFFIX),
                )
            )
            keys.append((index.constraint, index.table))
    return [(index.name, index.table) for index in wanted], keys


MISSED_QUERY = f"""
SELECT events.transaction_id::text AS xid, {EVENT_COLUMNS} FROM events
WHERE stream_type = %(type)s AND NOT pg_visible_in_snapshot(transaction_id, %(snapshot)s::pg_snapshot)
  AND (transaction_id, position) > (%(xid)s::xid8, %(position)s)
  {{bound}}
ORDER BY events.transaction_id, events.position LIMIT %(limit)s
"""


def _first_missed(horizon: str) -> tuple[str, int]:
    """Where the events a snapshot did not see begin in commit order: at the oldest of this database's transactions it
    saw running (every transaction before it is visible to it, or aborted; another database's write no event here).
    Catching up from there reads an index range, not the whole log; the swap runs the last catch-up while appends wait
    on its lock (from the start of the log: 0.2 s a million events)."""
    return horizon, 0


async def _catch_up(
    conn: Connection, projection: Rows[Any] | Totals[Any], snapshot: str, checkpoint: tuple[str, int], final: bool
) -> tuple[str, int]:
    """Apply, in commit order, the events the snapshot missed (below the oldest running transaction, unless
    `final`: then `events` is locked and every event in it is committed)."""
    bound = "" if final else "AND transaction_id < events_horizon()"
    while True:
        (stream_type,) = projection.stream_types
        params = {
            "type": stream_type,
            "snapshot": snapshot,
            "xid": checkpoint[0],
            "position": checkpoint[1],
            "limit": BATCH,
        }
        async with conn.transaction():
            cursor = await conn.execute(MISSED_QUERY.format(bound=bound), params)
            rows = await cursor.fetchall()
            if rows:
                # The registry's own computation, as the inline append makes it, into the new tables.
                await apply_projections(conn, [projection], [record_from_row(row[1:]) for row in rows], SUFFIX)
        if rows:
            checkpoint = (rows[-1][0], rows[-1][1])
        if len(rows) < BATCH:
            return checkpoint


async def _swap(
    conn: Connection, tables: Sequence[str], indexes: list[tuple[str, str]], keys: list[tuple[str, str]]
) -> None:
    """Inside the swap transaction: the new tables, their indexes and keys take the live names."""
    for table in tables:
        await conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
        await conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(table + SUFFIX), sql.Identifier(table))
        )
    for constraint, table in keys:
        await conn.execute(
            sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                sql.Identifier(table), sql.Identifier(constraint + SUFFIX), sql.Identifier(constraint)
            )
        )
    renamed_by_key = {constraint for constraint, _ in keys}
    for index, _ in indexes:
        if index not in renamed_by_key:
            await conn.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(sql.Identifier(index + SUFFIX), sql.Identifier(index))
            )


async def _follow_into(
    conn: Connection, follower: Follower, checkpoint: tuple[str, int], progress: Progress
) -> tuple[str, int]:
    """Feed `follower` every committed event after `checkpoint`, a transaction a batch, as the live follower would."""
    while True:
        async with conn.transaction():
            cursor = await conn.execute(FOLLOWER_BATCH, (checkpoint[0], checkpoint[1], BATCH))
            rows = await cursor.fetchall()
            if rows:
                await follower.handle(conn, [record_from_row(row[1:]) for row in rows])
        if rows:
            checkpoint = (rows[-1][0], rows[-1][1])
            progress(len(rows))
        if len(rows) < BATCH:
            return checkpoint


async def _one_at_a_time(conn: Connection, name: str) -> None:
    """Wait for any other rebuild of `name` (before touching its __next tables); released with the connection."""
    await conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"taskflow-rebuild:{name}",))


async def _rebuild_followed(database_url: str, projection: Table[Any], progress: Progress) -> None:
    """A follower's table from the whole log, beside the live one, then swapped in with its checkpoint: the live
    follower goes on from where the rebuild stopped (a bulk load by stream could not hand over a place in commit
    order)."""
    name = projection.name
    tables = (name,)
    async with _working_connection(database_url) as conn:
        await _one_at_a_time(conn, name)
        await _prepare(conn, tables)
        indexes, keys = await _index(database_url, conn, tables)  # the upsert needs its key from the first batch on
        follower = ProjectionFollower(projection, SUFFIX)
        checkpoint = await _follow_into(conn, follower, ("0", 0), progress)
        async with conn.transaction():
            await conn.execute("SET LOCAL lock_timeout = '30s'")
            # The live follower waits here (its batch locks this row), then goes on from the rebuild's checkpoint.
            await conn.execute(
                "INSERT INTO follower_checkpoints (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (name,)
            )
            await conn.execute("SELECT 1 FROM follower_checkpoints WHERE name = %s FOR UPDATE", (name,))
            await conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(name)))
            checkpoint = await _follow_into(conn, follower, checkpoint, progress)
            await conn.execute(
                "UPDATE follower_checkpoints SET transaction_id = %s::xid8, position = %s, updated_at = now()"
                " WHERE name = %s",
                (checkpoint[0], checkpoint[1], name),
            )
            await _swap(conn, tables, indexes, keys)


async def _rebuild_inline(database_url: str, projection: Rows[Any] | Totals[Any], progress: Progress) -> None:
    name = projection.name
    tables = (name,)
    async with _working_connection(database_url) as conn:
        await _one_at_a_time(conn, name)
        await _prepare(conn, tables)
        started = time.monotonic()
        snapshot, horizon = await _bulk(database_url, conn, _Load(projection), progress)
        log.info("rebuild %s: bulk load in %.1f s", name, time.monotonic() - started)
        started = time.monotonic()
        indexes, keys = await _index(database_url, conn, tables)
        await conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name + SUFFIX)))
        log.info("rebuild %s: %d indexes in %.1f s", name, len(indexes), time.monotonic() - started)
        started = time.monotonic()
        checkpoint = await _catch_up(conn, projection, snapshot, _first_missed(horizon), final=False)
        for attempt in range(SWAP_ATTEMPTS):
            try:
                async with conn.transaction():
                    # Short lock waits: while this waits, appends wait behind it, and they must not time out.
                    await conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_WAIT_MS}ms'")
                    await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
                    await conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(name)))
                    await _catch_up(conn, projection, snapshot, checkpoint, final=True)
                    await _swap(conn, tables, indexes, keys)
                break
            except psycopg.errors.LockNotAvailable:
                log.info("rebuild %s: the swap waits for readers (attempt %d)", name, attempt + 1)
                checkpoint = await _catch_up(conn, projection, snapshot, checkpoint, final=False)
                await asyncio.sleep(SWAP_PAUSE_SECONDS)
        else:
            raise RuntimeError(f"rebuild {name}: could not take the swap's locks; the live tables are unchanged")
    log.info("rebuild %s: catch-up and swap in %.1f s", name, time.monotonic() - started)


async def rebuild(database_url: str, name: str, progress: Progress = lambda _: None) -> int:
    """Rebuild projection `name` (one that keeps a table) and swap it in; returns how many events it read."""
    projection = BY_NAME[name]
    read = 0

    def counted(n: int) -> None:
        nonlocal read
        read += n
        progress(n)

    if isinstance(projection, Rows | Totals) and projection.mode is Mode.INLINE:
        await _rebuild_inline(database_url, projection, counted)
    elif isinstance(projection, Table):
        await _rebuild_followed(database_url, projection, counted)
    else:
        raise ValueError(f"{name} keeps no table to rebuild")
    log.info("rebuilt %s from %d events", name, read)
    return read

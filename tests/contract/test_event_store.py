"""The event store's contract: one suite, run against the in-memory store and the PostgreSQL store."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from application.errors import ConcurrencyError
from application.ports import UnitOfWork
from application.records import EventMetadata, RecordedEvent, StreamAppend
from domain import tasks
from domain.events import SCHEMA_VERSIONS, DomainEvent
from infrastructure.postgres.event_hash import event_hash
from infrastructure.postgres.pool import open_pool
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from tests.fakes import MemoryLog, MemoryUnitOfWork

UnitOfWorkFactory = Callable[[], UnitOfWork]

OWNER = UUID("00000000-0000-4000-8000-000000000001")
METADATA = EventMetadata(actor_id=str(OWNER), correlation_id="corr-1", causation_id="req-1", request_id="req-1")
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
CONCURRENT_WRITERS = 20
MAX_ATTEMPTS = 50


@pytest.fixture(params=["memory", "postgres"])
async def unit_of_work(request: pytest.FixtureRequest) -> AsyncIterator[UnitOfWorkFactory]:
    """A zero-argument factory of units of work over one empty store of the parametrised kind."""
    if request.param == "memory":
        log = MemoryLog()
        yield lambda: MemoryUnitOfWork(log)
        return
    database_url: str = request.getfixturevalue("database_url")
    async with open_pool(database_url, size=CONCURRENT_WRITERS, checkout_seconds=5.0) as pool:
        yield lambda: PostgresUnitOfWork(pool)


def created(title: str = "Write the contract") -> tasks.TaskCreated:
    return tasks.TaskCreated(owner_id=OWNER, title=title, fee=None)


def renamed(title: str) -> tasks.TaskUpdated:
    return tasks.TaskUpdated(title=title)


async def append(
    uow: UnitOfWorkFactory,
    stream_id: UUID,
    expected_version: int,
    events: list[DomainEvent],
    recorded_at: datetime = T0,
) -> list[RecordedEvent]:
    """Append one stream's events in a unit of work of their own."""
    async with uow() as unit:
        return await unit.events.append(
            [StreamAppend(stream_id, tasks.STREAM_TYPE, expected_version, events)], METADATA, recorded_at
        )


async def load(uow: UnitOfWorkFactory, stream_id: UUID) -> list[RecordedEvent]:
    async with uow() as unit:
        return await unit.events.load(stream_id)


async def given_stream(uow: UnitOfWorkFactory, versions: int) -> tuple[UUID, list[RecordedEvent]]:
    """A task stream at `versions`, one event per unit of work, one minute apart; with its loaded records."""
    stream_id = uuid4()
    await append(uow, stream_id, 0, [created("v1")], T0)
    for version in range(2, versions + 1):
        await append(uow, stream_id, version - 1, [renamed(f"v{version}")], T0 + timedelta(minutes=version - 1))
    return stream_id, await load(uow, stream_id)


class TestAppendToNewStream:
    async def test_versions_start_at_one(self, unit_of_work: UnitOfWorkFactory) -> None:
        _, records = await given_stream(unit_of_work, 3)

        assert [r.version for r in records] == [1, 2, 3]

    async def test_several_events_in_one_append_take_consecutive_versions(
        self, unit_of_work: UnitOfWorkFactory
    ) -> None:
        stream_id = uuid4()

        recorded = await append(unit_of_work, stream_id, 0, [created(), renamed("Second"), renamed("Third")])

        assert [r.version for r in recorded] == [1, 2, 3]
        assert [r.version for r in await load(unit_of_work, stream_id)] == [1, 2, 3]

    async def test_positions_are_given_at_the_commit_positive_and_increasing(
        self, unit_of_work: UnitOfWorkFactory
    ) -> None:
        streams = [uuid4() for _ in range(3)]
        for stream_id in streams:
            returned = await append(unit_of_work, stream_id, 0, [created(), renamed("Two")])
            assert [r.position for r in returned] == [0, 0]  # not known before the commit

        positions = [r.position for stream_id in streams for r in await load(unit_of_work, stream_id)]
        assert all(p > 0 for p in positions), positions
        assert positions == sorted(set(positions)), positions

    async def test_returned_records_equal_what_load_returns_but_for_positions(
        self, unit_of_work: UnitOfWorkFactory
    ) -> None:
        stream_id = uuid4()

        recorded = await append(unit_of_work, stream_id, 0, [created()])
        recorded += await append(unit_of_work, stream_id, 1, [renamed("Renamed")], T0 + timedelta(seconds=1))

        loaded = await load(unit_of_work, stream_id)
        assert [msgspec.structs.replace(r, position=0) for r in loaded] == recorded

    async def test_records_carry_the_envelope(self, unit_of_work: UnitOfWorkFactory) -> None:
        stream_id = uuid4()

        await append(unit_of_work, stream_id, 0, [created("Envelope")])

        (record,) = await load(unit_of_work, stream_id)
        assert record.stream_id == stream_id
        assert record.stream_type == tasks.STREAM_TYPE
        assert record.type == "TaskCreated"
        assert record.schema_version == SCHEMA_VERSIONS["TaskCreated"]
        assert record.metadata == METADATA
        assert record.recorded_at == T0
        assert record.event() == created("Envelope")

    async def test_loaded_positions_increase_across_appends(self, unit_of_work: UnitOfWorkFactory) -> None:
        first, second = uuid4(), uuid4()
        await append(unit_of_work, first, 0, [created()])
        await append(unit_of_work, second, 0, [created()])

        (earlier,), (later,) = await load(unit_of_work, first), await load(unit_of_work, second)
        assert 0 < earlier.position < later.position

    async def test_an_append_is_visible_to_load_in_the_same_unit_of_work(self, unit_of_work: UnitOfWorkFactory) -> None:
        stream_id = uuid4()

        async with unit_of_work() as unit:
            await unit.events.append([StreamAppend(stream_id, tasks.STREAM_TYPE, 0, [created()])], METADATA, T0)
            seen = await unit.events.load(stream_id)

        assert [r.version for r in seen] == [1]


class TestExpectedVersion:
    @pytest.mark.parametrize("expected_version", [0, 1, 3, 10], ids=["new", "stale", "ahead", "far-ahead"])
    async def test_a_mismatch_raises_and_appends_nothing(
        self, unit_of_work: UnitOfWorkFactory, expected_version: int
    ) -> None:
        stream_id, before = await given_stream(unit_of_work, 2)

        with pytest.raises(ConcurrencyError):
            await append(unit_of_work, stream_id, expected_version, [renamed("Lost")])

        assert await load(unit_of_work, stream_id) == before

    async def test_an_absent_stream_at_a_positive_version_raises(self, unit_of_work: UnitOfWorkFactory) -> None:
        stream_id = uuid4()

        with pytest.raises(ConcurrencyError):
            await append(unit_of_work, stream_id, 1, [renamed("No such stream")])

        assert await load(unit_of_work, stream_id) == []


class TestMultiStreamAppend:
    @pytest.mark.parametrize("conflict_first", [True, False], ids=["conflict-first", "conflict-last"])
    async def test_one_conflict_appends_nothing_at_all(
        self, unit_of_work: UnitOfWorkFactory, conflict_first: bool
    ) -> None:
        fresh = uuid4()
        existing, before_existing = await given_stream(unit_of_work, 1)
        current, before_current = await given_stream(unit_of_work, 1)
        conflicting = StreamAppend(existing, tasks.STREAM_TYPE, 0, [created("Duplicate")])
        fine = [
            StreamAppend(fresh, tasks.STREAM_TYPE, 0, [created("Fresh")]),
            StreamAppend(current, tasks.STREAM_TYPE, 1, [renamed("Moved on")]),
        ]
        appends = [conflicting, *fine] if conflict_first else [*fine, conflicting]

        with pytest.raises(ConcurrencyError):
            async with unit_of_work() as unit:
                await unit.events.append(appends, METADATA, T0)

        assert await load(unit_of_work, fresh) == []
        assert await load(unit_of_work, current) == before_current
        assert await load(unit_of_work, existing) == before_existing

    async def test_all_streams_are_appended_together(self, unit_of_work: UnitOfWorkFactory) -> None:
        fresh = uuid4()
        current, _ = await given_stream(unit_of_work, 1)

        async with unit_of_work() as unit:
            recorded = await unit.events.append(
                [
                    StreamAppend(fresh, tasks.STREAM_TYPE, 0, [created("Fresh")]),
                    StreamAppend(current, tasks.STREAM_TYPE, 1, [renamed("Moved on")]),
                ],
                METADATA,
                T0,
            )

        assert [(r.stream_id, r.version) for r in recorded] == [(fresh, 1), (current, 2)]
        assert [r.version for r in await load(unit_of_work, fresh)] == [1]
        assert [r.version for r in await load(unit_of_work, current)] == [1, 2]


class TestTemporalLoad:
    async def _three_versions(self, unit_of_work: UnitOfWorkFactory) -> UUID:
        stream_id, _ = await given_stream(unit_of_work, 3)
        return stream_id

    @pytest.mark.parametrize(("to_version", "versions"), [(1, [1]), (2, [1, 2]), (3, [1, 2, 3]), (9, [1, 2, 3])])
    async def test_to_version(self, unit_of_work: UnitOfWorkFactory, to_version: int, versions: list[int]) -> None:
        stream_id = await self._three_versions(unit_of_work)

        async with unit_of_work() as unit:
            loaded = await unit.events.load(stream_id, to_version=to_version)

        assert [r.version for r in loaded] == versions

    @pytest.mark.parametrize(
        ("offset", "versions"),
        [
            (timedelta(seconds=-1), []),
            (timedelta(0), [1]),
            (timedelta(seconds=90), [1, 2]),
            (timedelta(minutes=2), [1, 2, 3]),
        ],
    )
    async def test_as_of(self, unit_of_work: UnitOfWorkFactory, offset: timedelta, versions: list[int]) -> None:
        stream_id = await self._three_versions(unit_of_work)

        async with unit_of_work() as unit:
            loaded = await unit.events.load(stream_id, as_of=T0 + offset)

        assert [r.version for r in loaded] == versions

    async def test_to_version_and_as_of_together_take_the_earlier(self, unit_of_work: UnitOfWorkFactory) -> None:
        stream_id = await self._three_versions(unit_of_work)

        async with unit_of_work() as unit:
            by_version = await unit.events.load(stream_id, to_version=1, as_of=T0 + timedelta(minutes=5))
            by_time = await unit.events.load(stream_id, to_version=3, as_of=T0 + timedelta(seconds=30))

        assert [r.version for r in by_version] == [1]
        assert [r.version for r in by_time] == [1]


class TestLoadMany:
    async def test_loads_every_stream_and_omits_absent_ones(self, unit_of_work: UnitOfWorkFactory) -> None:
        absent = uuid4()
        first, first_records = await given_stream(unit_of_work, 2)
        second, second_records = await given_stream(unit_of_work, 1)

        async with unit_of_work() as unit:
            streams = await unit.events.load_many([first, absent, second])

        assert streams == {first: first_records, second: second_records}

    async def test_no_streams(self, unit_of_work: UnitOfWorkFactory) -> None:
        async with unit_of_work() as unit:
            assert await unit.events.load_many([]) == {}


class TestRollback:
    async def test_an_exception_in_the_unit_of_work_leaves_nothing(self, unit_of_work: UnitOfWorkFactory) -> None:
        fresh = uuid4()
        existing, before = await given_stream(unit_of_work, 1)

        async def abandon() -> None:
            async with unit_of_work() as unit:
                await unit.events.append(
                    [
                        StreamAppend(fresh, tasks.STREAM_TYPE, 0, [created("Never")]),
                        StreamAppend(existing, tasks.STREAM_TYPE, 1, [renamed("Never")]),
                    ],
                    METADATA,
                    T0,
                )
                raise RuntimeError("abandon")

        with pytest.raises(RuntimeError, match="abandon"):
            await abandon()

        assert await load(unit_of_work, fresh) == []
        assert await load(unit_of_work, existing) == before
        # The rolled-back versions are free again.
        assert [r.version for r in await append(unit_of_work, existing, 1, [renamed("Now")])] == [2]


def assert_chained(records: list[RecordedEvent]) -> None:
    """Each record's hash recomputes from its stored fields, chained from the previous record's (b"" first)."""
    previous = b""
    for record in records:
        assert record.hash == event_hash(previous, record), f"version {record.version}"
        previous = record.hash


class TestHashChain:
    async def test_each_hash_chains_from_the_previous_event_of_its_stream(
        self, unit_of_work: UnitOfWorkFactory
    ) -> None:
        stream_id, _ = await given_stream(unit_of_work, 2)
        await given_stream(unit_of_work, 2)  # another stream between, which must not join the chain
        await append(unit_of_work, stream_id, 2, [tasks.TaskCompleted()], T0 + timedelta(hours=1))

        records = await load(unit_of_work, stream_id)

        assert [r.version for r in records] == [1, 2, 3]
        assert_chained(records)

    async def test_events_of_one_append_chain_to_each_other(self, unit_of_work: UnitOfWorkFactory) -> None:
        stream_id, _ = await given_stream(unit_of_work, 1)
        await append(unit_of_work, stream_id, 1, [renamed("Two"), tasks.TaskCompleted()], T0 + timedelta(hours=1))

        records = await load(unit_of_work, stream_id)

        assert [r.version for r in records] == [1, 2, 3]
        assert_chained(records)

    async def test_the_first_event_chains_from_empty(self, unit_of_work: UnitOfWorkFactory) -> None:
        stream_id = uuid4()

        (record,) = await append(unit_of_work, stream_id, 0, [created()])

        assert record.hash == event_hash(b"", record)
        assert record.hash != event_hash(b"", msgspec.structs.replace(record, recorded_at=T0 + timedelta(seconds=1)))
        assert record.hash != event_hash(b"", msgspec.structs.replace(record, stream_type="user"))


class TestConcurrentAppenders:
    async def test_every_writer_gets_exactly_one_version(self, unit_of_work: UnitOfWorkFactory) -> None:
        stream_id = uuid4()
        await append(unit_of_work, stream_id, 0, [created()])

        writers = CONCURRENT_WRITERS - 1
        everyone_loaded = asyncio.Barrier(writers)

        async def write(writer: int) -> int:
            """Load, then append one event at the version seen; on a lost race, reload and retry."""
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    async with unit_of_work() as unit:
                        seen = await unit.events.load(stream_id)
                        if attempt == 1:
                            await everyone_loaded.wait()  # so the first round is a real race on one version
                        await unit.events.append(
                            [StreamAppend(stream_id, tasks.STREAM_TYPE, seen[-1].version, [renamed(f"w{writer}")])],
                            METADATA,
                            T0,
                        )
                    return attempt
                except ConcurrencyError:
                    continue
            raise AssertionError(f"writer {writer} never got a version")

        attempts = await asyncio.wait_for(asyncio.gather(*(write(n) for n in range(writers))), timeout=30)

        records = await load(unit_of_work, stream_id)
        assert [r.version for r in records] == list(range(1, CONCURRENT_WRITERS + 1))
        titles = [r.data["title"] for r in records[1:]]
        assert sorted(titles) == sorted(f"w{n}" for n in range(writers))
        assert attempts.count(1) == 1, "exactly one writer wins the first round"

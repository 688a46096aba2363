"""Schema evolution: a log holding TaskCreated v1 (before fees) and v2 replays into the current shape."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

from application.context import Actor, RequestContext
from application.folds import task_view
from application.projections.registry import TASKS_VIEW
from application.queries import get_task_as_of
from application.records import EventMetadata, RecordedEvent
from application.tasks import CreateTask, TaskChanges, UpdateTask, create_task, update_task
from domain import tasks
from domain.events import SCHEMA_VERSIONS, UPCASTERS, from_data, upcast
from domain.values import Money, Priority, Role
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.event_hash import event_hash
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.log_audit import verify_log
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.postgres.rebuild import rebuild
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.settings import Settings
from tests.fakes import MemoryLog
from tests.integration.wiring import deps_over

OWNER = UUID(int=42)


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


async def write_v1_task(pool: Pool) -> UUID:
    """A TaskCreated as the service wrote it before fees existed: schema 1, no `fee` key, hash-chained."""
    stream_id = uuid4()
    record = RecordedEvent(
        position=0,
        stream_id=stream_id,
        stream_type=tasks.STREAM_TYPE,
        version=1,
        type="TaskCreated",
        schema_version=1,
        data={
            "ownerId": str(OWNER),
            "title": "from before fees",
            "description": None,
            "status": "PENDING",
            "priority": "LOW",
            "dueDate": None,
        },
        metadata=EventMetadata(actor_id=str(OWNER)),
        recorded_at=datetime(2025, 1, 1, tzinfo=UTC),
        hash=b"",
    )
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at,"
            " hash) VALUES (%s, %s, 1, 'TaskCreated', 1, %s::jsonb, %s::jsonb, %s, %s)",
            (
                stream_id,
                tasks.STREAM_TYPE,
                msgspec.json.encode(record.data).decode(),
                msgspec.json.encode(record.metadata).decode(),
                record.recorded_at,
                event_hash(b"", record),
            ),
        )
    return stream_id


class TestUpcasting:
    def test_v1_gains_an_explicit_no_fee(self) -> None:
        assert SCHEMA_VERSIONS["TaskCreated"] == 2
        assert upcast("TaskCreated", 1, {"title": "t"}) == {"title": "t", "fee": None}
        assert upcast("TaskCreated", 2, {"title": "t", "fee": None}) == {"title": "t", "fee": None}

    def test_current_shape_needs_the_fee(self) -> None:
        with pytest.raises(msgspec.ValidationError):
            from_data("TaskCreated", 2, {"ownerId": str(OWNER), "title": "t"})

    async def test_a_log_with_both_versions_replays(self, deps: Dependencies, pool: Pool) -> None:
        old = await write_v1_task(pool)
        ctx = RequestContext(actor=Actor(OWNER, Role.USER), request_id="test")
        new = await create_task(CreateTask("with a fee", fee=Money(amount=500, currency="EUR")), ctx, deps.tasks)
        async with PostgresUnitOfWork(pool) as uow:
            streams = await uow.events.load_many([old, new.id])
        assert [r.schema_version for r in streams[old]] == [1]
        assert [r.schema_version for r in streams[new.id]] == [2]
        old_view, new_view = task_view(streams[old]), task_view(streams[new.id])
        assert old_view is not None
        assert (old_view.title, old_view.fee) == ("from before fees", None)
        assert new_view == new
        assert (await verify_log(pool)).whole, "upcasting reads; it never rewrites the log"


def _v3_title(data: dict[str, Any]) -> dict[str, Any]:
    """A made-up TaskCreated v3: titles stored at v2 read with a mark, so a reader that skipped the upcaster shows."""
    return data | {"title": f"{data['title']} (read as v3)"}


class TestANewSchemaVersion:
    async def test_every_path_reads_the_upcast_shape(
        self, deps: Dependencies, pool: Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A new version of TaskCreated and its upcaster, registered in domain.events alone: the inline append of a
        later change, a log follower, a rebuild, time travel and the fakes all read the events stored before it as
        the upcaster says."""
        ctx = RequestContext(actor=Actor(OWNER, Role.USER), request_id="test")
        changed = await create_task(CreateTask("changed later"), ctx, deps.tasks)
        untouched = await create_task(CreateTask("never changed"), ctx, deps.tasks)
        monkeypatch.setitem(SCHEMA_VERSIONS, "TaskCreated", 3)
        monkeypatch.setitem(UPCASTERS, ("TaskCreated", 2), _v3_title)

        # Inline: a change folds the stored v2 creation through the upcaster.
        await update_task(UpdateTask(changed.id, TaskChanges(priority=Priority.HIGH)), ctx, deps.tasks)
        shown = await deps.task_reads.tasks.get(changed.id)
        assert shown is not None
        assert shown.title == "changed later (read as v3)"
        # Time travel folds the stream as stored.
        assert (await get_task_as_of(untouched.id, 1, None, ctx, deps.task_reads)).title == "never changed (read as v3)"
        # A follower of the log, from its start.
        async with pool.connection() as conn:
            await conn.execute("CREATE TABLE tasks_view__followed (LIKE tasks_view INCLUDING ALL)")
        follower = ProjectionFollower(TASKS_VIEW, "__followed")
        while await run_batch(pool, follower):
            pass
        # A rebuild.
        await rebuild(database_url, "tasks_view")
        expected = {changed.id: "changed later (read as v3)", untouched.id: "never changed (read as v3)"}
        async with pool.connection() as conn:
            for table in ("tasks_view", "tasks_view__followed"):
                cursor = await conn.execute(f"SELECT id, title FROM {table} WHERE valid_to IS NULL")
                assert dict(await cursor.fetchall()) == expected, table
        # The fakes, given the same stored events.
        log = MemoryLog()
        async with PostgresUnitOfWork(pool) as uow:
            streams = await uow.events.load_many([changed.id, untouched.id])
        log.commit([record for stream in streams.values() for record in stream], {}, {})
        assert {task_id: view.title for task_id, view in log.tasks.items()} == expected
        # The new version is what new events are stored at; the log itself is never rewritten.
        created = await create_task(CreateTask("after the change"), ctx, deps.tasks)
        async with PostgresUnitOfWork(pool) as uow:
            versions = {
                task_id: records[0].schema_version
                for task_id, records in (await uow.events.load_many([changed.id, created.id])).items()
            }
        assert versions == {changed.id: 2, created.id: 3}

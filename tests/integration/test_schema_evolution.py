"""Schema evolution: a log holding TaskCreated v1 (before fees) and v2 replays into the current shape."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import msgspec
import pytest

from application.context import Actor, RequestContext
from application.folds import task_view
from application.records import EventMetadata, RecordedEvent
from application.services import Services
from application.tasks import CreateTask, create_task
from domain import tasks
from domain.events import SCHEMA_VERSIONS, from_data, upcast
from domain.values import Money, Role
from infrastructure.audit import verify_log
from infrastructure.event_hash import event_hash
from infrastructure.postgres import Pool
from infrastructure.settings import Settings
from infrastructure.unit_of_work import PostgresUnitOfWork
from tests.integration.wiring import services_over

OWNER = UUID(int=42)


@pytest.fixture
async def services(pool: Pool, settings: Settings) -> AsyncIterator[Services]:
    async with services_over(pool, settings) as wired:
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

    async def test_a_log_with_both_versions_replays(self, services: Services, pool: Pool) -> None:
        old = await write_v1_task(pool)
        ctx = RequestContext(actor=Actor(OWNER, Role.USER), request_id="test")
        new = await create_task(CreateTask("with a fee", fee=Money(amount=500, currency="EUR")), ctx, services)
        async with PostgresUnitOfWork(pool) as uow:
            streams = await uow.events.load_many([old, new.id])
        assert [r.schema_version for r in streams[old]] == [1]
        assert [r.schema_version for r in streams[new.id]] == [2]
        old_view, new_view = task_view(streams[old]), task_view(streams[new.id])
        assert old_view is not None
        assert (old_view.title, old_view.fee) == ("from before fees", None)
        assert new_view == new
        assert (await verify_log(pool)).whole, "upcasting reads; it never rewrites the log"

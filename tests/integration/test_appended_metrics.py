"""Appended events are counted for /metrics when their transaction commits, never when it rolls back."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from prometheus_client import REGISTRY

from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork

METADATA = EventMetadata(actor_id="test", correlation_id="test", causation_id="test", request_id="test")


def completed() -> float:
    return REGISTRY.get_sample_value("taskflow_events_appended_total", {"type": "TaskCompleted"}) or 0.0


async def append_one(uow: PostgresUnitOfWork) -> None:
    # A stream type no inline projection reads: the event alone.
    await uow.events.append([StreamAppend(uuid4(), "metrics", 0, [tasks.TaskCompleted()])], METADATA, datetime.now(UTC))


async def test_a_rolled_back_append_is_not_counted_and_a_committed_one_is(pool: Pool) -> None:
    before = completed()

    async def failing() -> None:
        async with PostgresUnitOfWork(pool) as uow:
            await append_one(uow)
            raise RuntimeError("the command fails after its append")

    with pytest.raises(RuntimeError):
        await failing()
    assert completed() == before
    async with PostgresUnitOfWork(pool) as uow:
        await append_one(uow)
    assert completed() == before + 1

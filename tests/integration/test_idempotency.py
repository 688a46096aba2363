"""Idempotency keys under real concurrency: repeats racing on their own connections create one task."""

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from application.context import Actor, RequestContext
from application.idempotency import IdempotencyKey
from application.tasks import CreateTask, create_task
from domain.values import Role
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.pool import Pool
from infrastructure.settings import Settings
from tests.integration.wiring import deps_over


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


async def test_racing_repeats_create_one_task(deps: Dependencies, pool: Pool) -> None:
    ctx = RequestContext(actor=Actor(uuid4(), Role.USER), request_id="test")
    key = IdempotencyKey(key="race", fingerprint=b"same body")
    views = await asyncio.gather(*(create_task(CreateTask("race"), ctx, deps.tasks, key) for _ in range(4)))
    assert len({view.id for view in views}) == 1
    assert views[1:] == views[:-1]
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) FROM events WHERE type = 'TaskCreated'")
        assert await cursor.fetchone() == (1,)

"""The application's dependencies as the composition root wires them, over a test's own pool."""

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from application.overdue import OverdueCheck
from application.ports import Clock
from infrastructure.bootstrap import Dependencies, adapters, dependencies, redis_client
from infrastructure.clock import RandomIds
from infrastructure.postgres.due_tasks import PostgresOverdueUnitOfWork
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.read_models.tasks import PostgresTaskReadModel
from infrastructure.redis.cache import NoCache
from infrastructure.settings import Settings


@asynccontextmanager
async def deps_over(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    """open_runtime's dependencies on `pool`, the task reads without the cache (commits still tell it)."""
    client = redis_client(settings)
    try:
        deps = dependencies(pool, settings, adapters(pool, client, settings))
        yield replaced(deps, tasks=PostgresTaskReadModel(pool))
    finally:
        await client.aclose()


def replaced(deps: Dependencies, **changes: Any) -> Dependencies:
    """`deps` with `changes` made in every set that has those fields (a test's clock in every area, say)."""

    def changed(area: Any) -> Any:
        names = {field.name for field in dataclasses.fields(area)}
        return dataclasses.replace(area, **{name: value for name, value in changes.items() if name in names})

    return Dependencies(**{field.name: changed(getattr(deps, field.name)) for field in dataclasses.fields(deps)})


def overdue_check(pool: Pool, clock: Clock, batch_size: int = 1000) -> OverdueCheck:
    """The scheduler's overdue check on `pool`, with the test's clock (no cache to tell)."""
    return OverdueCheck(lambda: PostgresOverdueUnitOfWork(pool), clock, RandomIds(), NoCache(), batch_size)

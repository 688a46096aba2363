"""The application's services as the composition root wires them, with the database side over a test's own pool."""

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from application.overdue import OverdueCheck
from application.ports import Clock
from application.services import Services
from infrastructure.bootstrap import open_runtime
from infrastructure.clock import RandomIds
from infrastructure.postgres.due_tasks import PostgresOverdueUnitOfWork
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.read_models.refunds import PostgresRefundReadModel
from infrastructure.postgres.read_models.tasks import PostgresTaskReadModel
from infrastructure.postgres.read_models.users import PostgresUserReadModel
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.redis.cache import NoCache
from infrastructure.settings import Settings


@asynccontextmanager
async def services_over(pool: Pool, settings: Settings) -> AsyncIterator[Services]:
    """open_runtime's services, but with the unit of work and read models on `pool`."""
    async with open_runtime(settings) as runtime:
        yield dataclasses.replace(
            runtime.services,
            uow=lambda: PostgresUnitOfWork(pool),
            tasks=PostgresTaskReadModel(pool),
            users=PostgresUserReadModel(pool),
            refunds=PostgresRefundReadModel(pool),
        )


def overdue_check(pool: Pool, clock: Clock, batch_size: int = 1000) -> OverdueCheck:
    """The scheduler's overdue check on `pool`, with the test's clock (no cache to tell)."""
    return OverdueCheck(lambda: PostgresOverdueUnitOfWork(pool), clock, RandomIds(), NoCache(), batch_size)

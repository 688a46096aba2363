"""The application's services as the composition root wires them, with the database side over a test's own pool."""

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from application.services import Services
from infrastructure.bootstrap import open_runtime
from infrastructure.postgres import Pool
from infrastructure.read_models import PostgresRefundReadModel, PostgresTaskReadModel, PostgresUserReadModel
from infrastructure.settings import Settings
from infrastructure.unit_of_work import PostgresUnitOfWork


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

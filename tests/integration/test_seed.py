"""Seeding: all of it once, or nothing."""

from collections.abc import AsyncIterator

import pytest

from application.seed import ADMIN, SAMPLE_TASKS, SEED_CONTEXT, USER, seed
from application.users import LogIn, log_in
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.pool import Pool
from infrastructure.settings import Settings
from tests.integration.wiring import deps_over


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


async def counts(pool: Pool) -> tuple[int, int, int]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(DISTINCT transaction_id::text) FROM events),"
            " (SELECT count(*) FROM credentials)"
        )
        row = await cursor.fetchone()
    assert row is not None
    return row[0], row[1], row[2]


class TestSeed:
    async def test_seeds_everything_in_one_transaction_once(self, deps: Dependencies, pool: Pool) -> None:
        assert await seed(deps.users)
        assert await counts(pool) == (2 + len(SAMPLE_TASKS), 1, 2)
        assert not await seed(deps.users)
        assert await counts(pool) == (2 + len(SAMPLE_TASKS), 1, 2)

    async def test_the_seeded_logins_work(self, deps: Dependencies) -> None:
        await seed(deps.users)
        for login in (ADMIN, USER):
            session = await log_in(LogIn(login.email, login.password), SEED_CONTEXT, deps.users)
            assert session.user.role is login.role

"""Fixtures for tests against the real PostgreSQL: a pool over this test's fresh database."""

from collections.abc import AsyncIterator

import pytest

from infrastructure.postgres import Pool, open_pool


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    async with open_pool(database_url, size=4, checkout_seconds=5.0) as opened:
        yield opened

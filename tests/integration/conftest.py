"""Fixtures for tests against the real servers: a pool over this test's fresh database, a Redis client."""

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.settings import Settings


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    async with open_pool(database_url, size=4, checkout_seconds=5.0) as opened:
        yield opened


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    assert settings.redis_url
    client = aioredis.Redis.from_url(settings.redis_url)
    async with client:
        yield client

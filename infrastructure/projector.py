"""The projector process: runs every log follower (asynchronous projections and the cache backstop)."""

import asyncio

from infrastructure.bootstrap import redis_client
from infrastructure.cache import TaskCache
from infrastructure.cache_backstop import CacheBackstop
from infrastructure.followers import Follower, follow
from infrastructure.merkle import AuditTreeFollower
from infrastructure.postgres import open_pool
from infrastructure.projections.task_activity import TaskActivity
from infrastructure.redis_guard import RedisGuard
from infrastructure.settings import Settings
from infrastructure.signals import stop_on_signals


async def run_projector(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Follow the log until SIGTERM/SIGINT (or `stop`); any number of these may run, one works each follower."""
    assert settings.database_url is not None
    stop = stop_on_signals(stop)
    client = redis_client(settings)
    try:
        cache = TaskCache(RedisGuard(client, settings.redis_timeout_seconds), settings.redis_namespace, 1)
        followers: list[Follower] = [TaskActivity(), CacheBackstop(cache), AuditTreeFollower()]
        async with open_pool(settings.database_url, size=4, checkout_seconds=settings.database_timeout_seconds) as pool:
            await asyncio.gather(*(follow(settings.database_url, pool, f, stop) for f in followers))
    finally:
        await client.aclose()

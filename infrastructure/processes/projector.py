"""The projector process: the registry's followers (asynchronous projections, cache backstop, audit tree)."""

import asyncio

from application.projections.kinds import Reaction, Table
from application.projections.registry import AUDIT_TREE, CACHE_BACKSTOP, followers
from infrastructure.bootstrap import redis_client
from infrastructure.postgres.audit_tree import AuditTreeFollower
from infrastructure.postgres.followers import Follower, follow
from infrastructure.postgres.pool import open_pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.processes.heap import settle_heap
from infrastructure.processes.signals import stop_on_signals
from infrastructure.redis.cache import TaskCache
from infrastructure.redis.cache_backstop import CacheBackstop
from infrastructure.redis.guard import RedisGuard
from infrastructure.settings import Settings


async def run_projector(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Follow the log until SIGTERM/SIGINT (or `stop`); any number of these may run, one works each follower."""
    assert settings.database_url is not None
    stop = stop_on_signals(stop)
    client = redis_client(settings)
    try:
        cache = TaskCache(RedisGuard(client, settings.redis_timeout_seconds), settings.redis_namespace, 1)
        running = projector_followers(cache)
        async with open_pool(settings.database_url, size=4, checkout_seconds=settings.database_timeout_seconds) as pool:
            settle_heap()
            await asyncio.gather(*(follow(settings.database_url, pool, f, stop) for f in running))
    finally:
        await client.aclose()


def projector_followers(cache: TaskCache) -> list[Follower]:
    """The registry's followers that the projector runs: its table projections, and its reactions' adapters."""
    reactions: dict[str, Follower] = {CACHE_BACKSTOP.name: CacheBackstop(cache), AUDIT_TREE.name: AuditTreeFollower()}
    found: list[Follower] = []
    for projection in followers("projector"):
        if isinstance(projection, Reaction):
            found.append(reactions[projection.name])
        else:
            assert isinstance(projection, Table)
            found.append(ProjectionFollower(projection))
    return found

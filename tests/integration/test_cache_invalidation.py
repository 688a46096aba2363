"""Cache invalidation after a large commit: a batch of 1,000 tasks bumps the generations it made stale (its owners'
and everyone's: task details live under their owner's), at once and in one script call, whatever the number of
tasks (a pipeline of thousands of commands could overrun the Redis guard's timeout under load, and was then held
back, and this instance stopped reading the cache until it went through)."""

from uuid import uuid4

import redis.asyncio as aioredis

from infrastructure.redis.cache import TaskCache
from infrastructure.redis.guard import RedisGuard
from infrastructure.settings import Settings


async def test_a_thousand_task_commit_is_invalidated_at_once(settings: Settings) -> None:
    assert settings.redis_url
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        cache = TaskCache(RedisGuard(client, settings.redis_timeout_seconds), settings.redis_namespace, 60)
        task_ids = [uuid4() for _ in range(1000)]
        owners = [uuid4(), uuid4()]
        keys = [cache.generation_key(f"owner:{owner}") for owner in owners] + [cache.generation_key("all")]
        before = [int(value or 0) for value in await client.mget(keys)]
        await cache.tasks_changed(task_ids, owners)
        after = [int(value or 0) for value in await client.mget(keys)]
        await cache.tasks_changed(task_ids[:1], owners[:1])
        again = [int(value or 0) for value in await client.mget(keys)]
    finally:
        await client.aclose()
    assert not cache.holding_invalidations
    assert all(new > old for new, old in zip(after, before, strict=True))
    assert all(value > 10**18 for value in after), "a generation that was gone starts from the clock"
    assert again[0] > after[0]
    assert again[1] == after[1], "another owner's generation moves only with that owner's tasks"
    assert again[2] > after[2]

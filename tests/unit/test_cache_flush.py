"""The cache's held invalidations: a bump Redis did not take at its commit keeps this instance's reads off the cache
until it is sent, including while it is being sent again (its write was acknowledged: nothing it replaced may show).

A stand-in client whose bump can be held in flight makes the interleaving exact; the real Redis cases are in
tests/e2e/test_cache.py."""

import asyncio
import hashlib
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

from redis.exceptions import ConnectionError as RedisConnectionError

from infrastructure.redis.cache import _BUMP, TaskCache
from infrastructure.redis.guard import RedisGuard


class HeldRedis:
    """Answers the cache's scripts: a fetch finds a stale value; a bump fails, or waits until released."""

    def __init__(self) -> None:
        self.failing = False
        self.in_flight = asyncio.Event()
        self.released = asyncio.Event()
        self.released.set()

    def register_script(self, script: str) -> SimpleNamespace:
        return SimpleNamespace(sha=hashlib.sha1(script.encode()).hexdigest(), script=script)  # noqa: S324

    async def evalsha(self, sha: str, numkeys: int, *args: Any) -> Any:
        if sha == hashlib.sha1(_BUMP.encode()).hexdigest():  # noqa: S324
            if self.failing:
                raise RedisConnectionError("down")
            self.in_flight.set()
            await self.released.wait()
            return numkeys
        return [b"1", b"stale"]  # the fetch: the value as it was before the commit


async def test_a_bump_sent_again_keeps_reads_off_the_cache_until_redis_has_it() -> None:
    redis = HeldRedis()
    cache = TaskCache(RedisGuard(redis, timeout_seconds=5, pause_seconds=0), "ns", ttl_seconds=60)  # type: ignore[arg-type]
    owner = uuid4()

    async def fresh() -> bytes:
        return b"fresh"

    redis.failing = True
    await cache.tasks_changed([uuid4()], [owner])  # the commit is acknowledged; its bump is held
    assert cache.holding_invalidations
    assert await cache.read(f"owner:{owner}", "stats", fresh) == b"fresh"

    redis.failing = False
    redis.released.clear()
    resend = asyncio.create_task(cache.flush())  # the upkeep round sends it again ...
    await redis.in_flight.wait()
    # ... and while Redis has not taken it, a read on this instance still goes to the database.
    assert await cache.read(f"owner:{owner}", "stats", fresh) == b"fresh"
    assert cache.holding_invalidations

    redis.released.set()
    assert await resend
    assert not cache.holding_invalidations
    assert await cache.read(f"owner:{owner}", "stats", fresh) == b"stale", "the cache is read again once sent"

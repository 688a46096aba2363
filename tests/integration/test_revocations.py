"""The revoked-access deny-list: Redis in front, PostgreSQL behind, and what happens when Redis lets go."""

from datetime import timedelta

import redis.asyncio as aioredis

from infrastructure.postgres import Pool
from infrastructure.redis_guard import RedisGuard
from infrastructure.revocations import LOADED_TTL_SECONDS, RedisRevokedAccessTokens
from infrastructure.settings import Settings
from infrastructure.system import SystemClock


async def republish(tokens: RedisRevokedAccessTokens, pool: Pool) -> int:
    async with pool.connection() as conn:
        return await tokens.republish(conn)


async def revoke_in_database(pool: Pool, jti: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (%s, now() + interval '10 minutes')", (jti,)
        )


class TestDenyList:
    async def test_republish_loads_redis_with_an_expiring_marker(
        self, pool: Pool, redis: aioredis.Redis, settings: Settings
    ) -> None:
        tokens = RedisRevokedAccessTokens(RedisGuard(redis, 1.0), pool, settings.redis_namespace, SystemClock())
        await revoke_in_database(pool, "jti-1")
        assert await republish(tokens, pool) == 1
        assert 0 < await redis.ttl(f"{settings.redis_namespace}:revoked-loaded") <= LOADED_TTL_SECONDS
        assert await tokens.contains("jti-1")
        assert not await tokens.contains("jti-2")

    async def test_without_the_marker_the_database_answers(
        self, pool: Pool, redis: aioredis.Redis, settings: Settings
    ) -> None:
        tokens = RedisRevokedAccessTokens(RedisGuard(redis, 1.0), pool, settings.redis_namespace, SystemClock())
        await republish(tokens, pool)
        await revoke_in_database(pool, "jti-late")  # in the database only, as after a lost publication
        await redis.delete(f"{settings.redis_namespace}:revoked-loaded")
        assert await tokens.contains("jti-late")

    async def test_a_failed_publication_is_remembered_here_and_drops_the_marker(
        self, pool: Pool, redis: aioredis.Redis, settings: Settings
    ) -> None:
        healthy = RedisRevokedAccessTokens(RedisGuard(redis, 1.0), pool, settings.redis_namespace, SystemClock())
        await republish(healthy, pool)
        broken_client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
        async with broken_client:
            broken = RedisRevokedAccessTokens(
                RedisGuard(broken_client, 0.3), pool, settings.redis_namespace, SystemClock()
            )
            await broken.add("jti-lost", SystemClock().now() + timedelta(minutes=10))
            assert await broken.contains("jti-lost")

"""The access gate: the deny-list and the per-user window in one Redis round trip, shared by every instance, and
the same answers, one part after the other, when Redis cannot give them."""

from datetime import timedelta

import msgspec
import redis.asyncio as aioredis

from application.context import RateRule
from infrastructure.access_gate import RedisAccessGate
from infrastructure.postgres import Pool
from infrastructure.rate_limits import SharedLimits
from infrastructure.redis_guard import RedisGuard
from infrastructure.revocations import RedisRevokedAccessTokens
from infrastructure.settings import Settings
from infrastructure.system import SystemClock

RULE = RateRule.API_BY_USER


def gate(client: aioredis.Redis, pool: Pool, settings: Settings, limit: str = "3/minute") -> RedisAccessGate:
    """One instance's gate (each test makes two to stand for two API processes)."""
    tuned = msgspec.structs.replace(settings, api_rate_limit=limit)
    guard = RedisGuard(client, 1.0)
    revocations = RedisRevokedAccessTokens(guard, pool, settings.redis_namespace, SystemClock())
    return RedisAccessGate(guard, revocations, SharedLimits(guard, tuned), tuned)


async def load_deny_list(settings: Settings, pool: Pool, client: aioredis.Redis) -> None:
    tokens = RedisRevokedAccessTokens(RedisGuard(client, 1.0), pool, settings.redis_namespace, SystemClock())
    async with pool.connection() as conn:
        await tokens.republish(conn)


async def revoke(settings: Settings, pool: Pool, client: aioredis.Redis, jti: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (%s, now() + interval '10 minutes')", (jti,)
        )
    await load_deny_list(settings, pool, client)


async def test_the_window_is_shared_by_instances_and_names_when_a_slot_frees(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    await load_deny_list(settings, pool, redis)
    one, two = gate(redis, pool, settings), gate(redis, pool, settings)
    answers = [await instance.admit(f"jti-{i}", RULE, "user-1") for i, instance in enumerate([one, two, one, two])]
    assert [answer.allowed if answer else None for answer in answers] == [True, True, True, False]
    refused = answers[-1]
    assert refused is not None
    assert (refused.limit, refused.remaining) == (3, 0)
    assert 55 <= refused.reset_after_seconds <= 61
    within = await one.admit("jti-other", RULE, "user-2")  # another user has a window of their own
    assert within is not None
    assert within.allowed


async def test_a_revoked_token_is_refused_and_not_counted(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    await revoke(settings, pool, redis, "jti-revoked")
    instance = gate(redis, pool, settings, limit="1/minute")
    assert await instance.admit("jti-revoked", RULE, "user-1") is None
    allowed = await instance.admit("jti-fine", RULE, "user-1")
    assert allowed is not None
    assert allowed.allowed, "the revoked token's request took the one slot"


async def test_without_the_loaded_marker_the_database_answers_and_the_window_still_counts(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    await revoke(settings, pool, redis, "jti-late")
    await redis.delete(f"{settings.redis_namespace}:revoked-loaded")  # as after a Redis restart
    await redis.delete(f"{settings.redis_namespace}:revoked:jti-late")
    instance = gate(redis, pool, settings, limit="1/minute")
    assert await instance.admit("jti-late", RULE, "user-1") is None
    first = await instance.admit("jti-fine", RULE, "user-1")
    second = await instance.admit("jti-fine", RULE, "user-1")
    assert first is not None
    assert second is not None
    assert (first.allowed, second.allowed) == (True, False)


async def test_with_redis_down_the_parts_answer_one_after_the_other(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    await revoke(settings, pool, redis, "jti-revoked")
    down = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    async with down:
        instance = gate(down, pool, settings, limit="2/minute")
        assert await instance.admit("jti-revoked", RULE, "user-1") is None  # from the database
        answers = [await instance.admit("jti-fine", RULE, "user-1") for _ in range(3)]
    assert [answer.allowed if answer else None for answer in answers] == [True, True, False]  # this process's window


async def test_a_revocation_this_process_could_not_publish_is_refused_here(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    await load_deny_list(settings, pool, redis)
    down = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    async with down:
        guard = RedisGuard(down, 0.3)
        revocations = RedisRevokedAccessTokens(guard, pool, settings.redis_namespace, SystemClock())
        instance = RedisAccessGate(guard, revocations, SharedLimits(guard, settings), settings)
        await revocations.add("jti-lost", SystemClock().now() + timedelta(minutes=10))
        assert await instance.admit("jti-lost", RULE, "user-1") is None

"""Revoked access tokens: a Redis deny-list in front of the durable PostgreSQL record.

Redis answers the per-request question while it holds the whole list (a `loaded` marker says so). When it
does not answer, or was flushed or restarted (marker gone), the database answers instead, so a revoked token is
never accepted. A maintenance loop republishes the unexpired list every few seconds, which also covers a
revocation whose publication to Redis failed.
"""

import asyncio
import logging
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from infrastructure.postgres import Pool, translated_errors

log = logging.getLogger(__name__)

REDIS_ERRORS = (RedisError, OSError, TimeoutError)


class RedisRevokedAccessTokens:
    def __init__(self, redis: aioredis.Redis, pool: Pool, namespace: str, timeout_seconds: float) -> None:
        self._redis = redis
        self._pool = pool
        self._prefix = f"{namespace}:revoked:"
        self._loaded = f"{namespace}:revoked-loaded"
        self._timeout = timeout_seconds

    async def add(self, jti: str, expires_at: datetime) -> None:
        seconds = int((expires_at - datetime.now(UTC)).total_seconds()) + 1
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._redis.set(self._prefix + jti, 1, ex=seconds), self._timeout)
        except REDIS_ERRORS:
            log.warning("revocation not published to Redis; the database answers until it is republished")

    async def contains(self, jti: str) -> bool:
        try:
            loaded, revoked = await asyncio.wait_for(self._redis.mget(self._loaded, self._prefix + jti), self._timeout)
            if loaded is not None:
                return revoked is not None
        except REDIS_ERRORS:
            pass
        return await self._in_database(jti)

    async def _in_database(self, jti: str) -> bool:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM revoked_access_tokens WHERE jti = %s AND expires_at > now()", (jti,)
            )
            return await cursor.fetchone() is not None

    async def republish(self) -> int:
        """Copy every unexpired revocation into Redis, then mark the list loaded; returns the count."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT jti, ceil(extract(epoch FROM expires_at - now()))::int FROM revoked_access_tokens"
                " WHERE expires_at > now()"
            )
            rows = await cursor.fetchall()
        async with self._redis.pipeline(transaction=False) as pipe:
            for jti, seconds in rows:
                pipe.set(self._prefix + jti, 1, ex=max(1, seconds))
            pipe.set(self._loaded, 1)
            await asyncio.wait_for(pipe.execute(), self._timeout * 4)
        return len(rows)

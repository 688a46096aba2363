"""Revoked access tokens: a Redis deny-list in front of the durable PostgreSQL record.

Redis answers the per-request question while it holds the whole list: a `loaded` marker says so, and it
expires unless the upkeep loop republishes the list (every few seconds). When Redis does not answer, or was
flushed or restarted (marker gone), the database answers instead. When publishing one revocation fails, this
process remembers it and tries to drop the marker, so every instance falls back to the database. The one gap
left: Redis refuses both writes yet answers other instances; they then accept the token until the next
republish (at most REPUBLISH_SECONDS) or the marker's expiry.
"""

import contextlib
import logging
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from application.ports import Clock
from infrastructure.postgres import Pool, translated_errors
from infrastructure.redis_guard import RedisGuard, RedisUnavailable

log = logging.getLogger(__name__)


REPUBLISH_SECONDS = 5.0
# The marker outlives a few missed republish rounds, no more.
LOADED_TTL_SECONDS = int(REPUBLISH_SECONDS * 3)


class RedisRevokedAccessTokens:
    def __init__(self, redis: RedisGuard, pool: Pool, namespace: str, clock: Clock) -> None:
        self._redis = redis
        self._pool = pool
        self._prefix = f"{namespace}:revoked:"
        self._loaded = f"{namespace}:revoked-loaded"
        self._clock = clock
        self._unpublished: dict[str, datetime] = {}

    async def add(self, jti: str, expires_at: datetime) -> None:
        seconds = int((expires_at - self._clock.now()).total_seconds()) + 1
        if seconds <= 0:
            return
        try:
            await self._redis.call(self._redis.client.set(self._prefix + jti, 1, ex=seconds))
        except RedisUnavailable:
            log.warning("revocation not published to Redis; the database answers until it is republished")
            self._unpublished[jti] = expires_at
            with contextlib.suppress(RedisUnavailable):
                await self._redis.call(self._redis.client.delete(self._loaded))

    async def contains(self, jti: str) -> bool:
        if self.held_back(jti):
            return True
        with contextlib.suppress(RedisUnavailable):
            loaded, revoked = await self._redis.call(self._redis.client.mget(*self.deny_list_keys(jti)))
            if loaded is not None:
                return revoked is not None
        return await self.in_database(jti)

    def held_back(self, jti: str) -> bool:
        """Revoked here, and not yet published to Redis."""
        return jti in self._unpublished

    def deny_list_keys(self, jti: str) -> tuple[str, str]:
        """(the marker that says Redis holds the whole list, the token's entry in it)."""
        return self._loaded, self._prefix + jti

    async def in_database(self, jti: str) -> bool:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM revoked_access_tokens WHERE jti = %s AND expires_at > now()", (jti,)
            )
            return await cursor.fetchone() is not None

    async def republish(self, conn: psycopg.AsyncConnection[TupleRow]) -> int:
        """Copy every unexpired revocation into Redis, then mark the list loaded; returns the count."""
        cursor = await conn.execute(
            "SELECT jti, ceil(extract(epoch FROM expires_at - now()))::int FROM revoked_access_tokens"
            " WHERE expires_at > now()"
        )
        rows = await cursor.fetchall()
        async with self._redis.client.pipeline(transaction=False) as pipe:
            for jti, seconds in rows:
                pipe.set(self._prefix + jti, 1, ex=max(1, seconds))
            pipe.set(self._loaded, 1, ex=LOADED_TTL_SECONDS)
            await self._redis.call(pipe.execute(), timeout_seconds=2.0)
        now = self._clock.now()
        self._unpublished = {jti: until for jti, until in self._unpublished.items() if until > now}
        return len(rows)

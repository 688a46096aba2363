"""Access records: per user, in Redis, what the per-request gate needs to refuse a token before it expires."""

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.context import AccessClaims
from application.ports import Clock
from domain.values import Role
from infrastructure.postgres.pool import Pool, translated_errors
from infrastructure.redis.guard import RedisGuard, RedisUnavailable

log = logging.getLogger(__name__)

REPUBLISH_SECONDS = 5.0
RECORD_SECONDS = 3600  # a loaded record is read again from PostgreSQL at least this often
EPOCH_SECONDS = 7 * 86_400

# KEYS: the record, the epoch. ARGV: jti, its expiry (epoch seconds; 0: drop the record, a role change).
_PUBLISH = """
if ARGV[2] == '0' then
    redis.call('DEL', KEYS[1])
elseif redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('HSET', KEYS[1], 'r:' .. ARGV[1], ARGV[2])
end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""

# KEYS: the record, the epoch. ARGV: the epoch read before PostgreSQL was, the record's ttl, then field, value pairs.
_STORE = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: a record. ARGV: field, value pairs added if the record is loaded (a republication).
_AMEND = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return 1
"""

_USER = """
SELECT u.role, u.role_since,
       ARRAY(SELECT jti FROM revoked_access_tokens WHERE user_id = %(user)s AND expires_at > now())
FROM (SELECT 1) AS one LEFT JOIN users_view u ON u.id = %(user)s
"""


@dataclass(frozen=True)
class AccessRecord:
    """What PostgreSQL says of a user's tokens: the role (None: no such user), since when, the revoked ones."""

    role: Role | None
    role_since: datetime | None
    revoked: frozenset[str]

    def refuses(self, claims: AccessClaims) -> bool:
        return self.role is None or claims.jti in self.revoked or claims.predates(self.role, self.role_since)

    def fields(self) -> list[str]:
        since = str(int(self.role_since.timestamp())) if self.role_since else "0"
        revoked = [value for jti in self.revoked for value in (f"r:{jti}", "1")]
        return ["role", self.role.value if self.role else "", "since", since, *revoked]


class RedisAccessRecords:
    """PostgreSQL holds the truth (revoked_access_tokens, users_view's role and since when); Redis a copy per user,
    under the user's hash tag so the gate's script reads it with the user's window and generations:
    `<ns>:{u:<user>}:access` (role, since, r:<jti> per revoked token) and `<ns>:{u:<user>}:epoch`. A change is
    committed first, then published, and bumps the epoch so a load that read PostgreSQL before it cannot store what it
    read; a publication Redis did not take is refused in this process until the upkeep loop republishes it."""

    def __init__(self, redis: RedisGuard, pool: Pool, namespace: str, clock: Clock) -> None:
        self._redis = redis
        self._pool = pool
        self._namespace = namespace
        self._clock = clock
        self._publish = redis.client.register_script(_PUBLISH)
        self._store = redis.client.register_script(_STORE)
        self._amend = redis.client.register_script(_AMEND)
        self._unpublished_tokens: dict[str, datetime] = {}
        self._unpublished_users: set[UUID] = set()

    def keys(self, user_id: UUID) -> tuple[str, str]:
        """(the user's record, the user's epoch): one hash tag, one slot."""
        tag = f"{self._namespace}:{{u:{user_id}}}"
        return f"{tag}:access", f"{tag}:epoch"

    def held_back(self, claims: AccessClaims) -> bool:
        """Refused here by a revocation or role change this process could not publish yet."""
        return claims.jti in self._unpublished_tokens or claims.actor.user_id in self._unpublished_users

    async def token_revoked(self, user_id: UUID, jti: str, expires_at: datetime) -> None:
        if expires_at <= self._clock.now():
            return
        try:
            await self._redis.call(
                self._publish(keys=self.keys(user_id), args=[jti, int(expires_at.timestamp()), EPOCH_SECONDS])
            )
        except RedisUnavailable:
            log.warning("revocation not published to Redis; refused here until it is republished")
            self._unpublished_tokens[jti] = expires_at

    async def role_changed(self, user_id: UUID) -> None:
        try:
            await self._redis.call(self._publish(keys=self.keys(user_id), args=["", 0, EPOCH_SECONDS]))
        except RedisUnavailable:
            log.warning("role change not published to Redis; refused here until it is republished")
            self._unpublished_users.add(user_id)

    async def refuses(self, claims: AccessClaims) -> bool:
        return self.held_back(claims) or (await self.record(claims.actor.user_id)).refuses(claims)

    async def record(self, user_id: UUID) -> AccessRecord:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(_USER, {"user": user_id})
            row = await cursor.fetchone()
        assert row is not None, "one row, whether or not the user exists"
        role, since, revoked = row
        return AccessRecord(Role(role) if role else None, since, frozenset(revoked))

    async def load(self, user_id: UUID, epoch: str) -> AccessRecord:
        """The user's record from PostgreSQL, stored in Redis unless a revocation or role change came since the
        gate read `epoch` (then the next request loads it again)."""
        found = await self.record(user_id)
        with contextlib.suppress(RedisUnavailable):
            await self._redis.call(self._store(keys=self.keys(user_id), args=[epoch, RECORD_SECONDS, *found.fields()]))
        return found

    async def republish(self, conn: psycopg.AsyncConnection[TupleRow]) -> int:
        """Add every unexpired revocation to its user's loaded record, and give every role changed within a token's
        lifetime to its user's loaded record (a publication Redis missed); returns how many."""
        cursor = await conn.execute(
            "SELECT user_id, jti FROM revoked_access_tokens WHERE expires_at > now() AND user_id IS NOT NULL"
        )
        revoked = await cursor.fetchall()
        cursor = await conn.execute(
            "SELECT id, role, role_since FROM users_view WHERE role_since > now() - interval '1 day'"
        )
        roles = await cursor.fetchall()
        async with self._redis.client.pipeline(transaction=False) as pipe:
            for user_id, jti in revoked:
                await self._amend(keys=[self.keys(user_id)[0]], args=[f"r:{jti}", "1"], client=pipe)
            for user_id, role, since in roles:
                fields = ["role", role, "since", str(int(since.timestamp()))]
                await self._amend(keys=[self.keys(user_id)[0]], args=fields, client=pipe)
            await self._redis.call(pipe.execute(), timeout_seconds=2.0)
        now = self._clock.now()
        self._unpublished_tokens = {jti: until for jti, until in self._unpublished_tokens.items() if until > now}
        self._unpublished_users.clear()
        return len(revoked) + len(roles)

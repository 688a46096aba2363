"""The per-request gate of the authenticated API, in one Redis round trip (with a cached read's value)."""

import time
from dataclasses import dataclass

from application.context import AccessClaims, RateLimit, RateRule
from application.sessions import SequentialGate
from infrastructure.redis.access_records import RedisAccessRecords
from infrastructure.redis.guard import RedisGuard, RedisUnavailable
from infrastructure.redis.rate_limits import SharedLimits, rules
from infrastructure.settings import Settings

# KEYS: the access record, its epoch, the window[, a scope's generation]. ARGV: now (seconds), the limit, the window
# (seconds), whether to look at the record ("1") or only count the hit ("0"), the token's jti, role and issue time
# (seconds)[, the cached value's key without its generation, a new generation's first value, its ttl].
# Answers {1}: within the limit, counted (and then the generation and the value, if any); {0, oldest}: refused,
# with the hit time that frees a slot when it leaves the window; {-1, epoch}: no record; {-2}: the token is refused.
_ADMIT = """
if ARGV[4] == '1' then
    local record = redis.call('HMGET', KEYS[1], 'role', 'since', 'r:' .. ARGV[5])
    if not record[1] then return {-1, redis.call('GET', KEYS[2]) or '0'} end
    if record[3] or record[1] ~= ARGV[6] or tonumber(ARGV[7]) < tonumber(record[2]) then return {-2} end
end
local now, limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local oldest = redis.call('LINDEX', KEYS[3], limit - 1)
if oldest and tonumber(oldest) >= now - window then
    return {0, oldest}
end
redis.call('LPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], 0, limit - 1)
redis.call('EXPIRE', KEYS[3], window)
if not KEYS[4] then return {1} end
local generation = redis.call('GET', KEYS[4])
if not generation then
    redis.call('SET', KEYS[4], ARGV[9], 'NX', 'EX', ARGV[10])
    generation = redis.call('GET', KEYS[4])
end
return {1, generation, redis.call('GET', ARGV[8] .. generation)}
"""
WITHIN, REFUSED, NOT_LOADED, DENIED = 1, 0, -1, -2


@dataclass(frozen=True)
class Fetch:
    """A cached value to read in the gate's round trip: its scope's generation key, and its key without the
    generation; `seed`, a new generation's first value, and its ttl."""

    generation_key: str
    prefix: str
    seed: int
    ttl: int


@dataclass(frozen=True)
class Fetched:
    """The generation of the value's scope, and the value stored under it (None: not cached)."""

    generation: str
    value: bytes | None


class RedisAccessGate:
    """One Lua script answers: is this token refused (the user's access record), is the user within the API limit (the
    `limits` library's moving window), and, for a read through the cache, the value's generation and the value. A
    record Redis lacks is loaded from PostgreSQL; with Redis down, the database and per-process windows answer."""

    def __init__(
        self, guard: RedisGuard, records: RedisAccessRecords, limits: SharedLimits, settings: Settings
    ) -> None:
        self._guard = guard
        self._records = records
        self._rules = rules(settings)
        self._prefix = settings.redis_namespace
        self._script = guard.client.register_script(_ADMIT)
        self._one_by_one = SequentialGate(records, limits)

    def _window_key(self, claims: AccessClaims, rule: RateRule) -> str:
        item = self._rules[rule]
        # The limit is part of the window's name, as in `limits`: instances set to different limits (a rolling
        # change of TASKFLOW_API_RATE_LIMIT) keep windows of their own instead of trimming each other's.
        return f"{self._prefix}:{{u:{claims.actor.user_id}}}:window:{rule.value}:{item.amount}/{item.get_expiry()}"

    async def admit(self, claims: AccessClaims, rule: RateRule) -> RateLimit | None:
        verdict, _ = await self.admit_and_fetch(claims, rule, None)
        return verdict

    async def admit_and_fetch(
        self, claims: AccessClaims, rule: RateRule, fetch: Fetch | None
    ) -> tuple[RateLimit | None, Fetched | None]:
        """The gate's verdict (as `admit`), and, when admitted and `fetch` is given, the cached value read in the
        same round trip (None when Redis did not answer: read without the cache)."""
        if self._records.held_back(claims):
            return None, None
        item = self._rules[rule]
        window = item.get_expiry()
        keys = [*self._records.keys(claims.actor.user_id), self._window_key(claims, rule)]
        tail: tuple[str | int, ...] = ()
        if fetch is not None:
            keys.append(fetch.generation_key)
            tail = (fetch.prefix, fetch.seed, fetch.ttl)
        token = (claims.jti, claims.actor.role.value, int(claims.issued_at.timestamp()))
        now = time.time()
        try:
            answer = await self._guard.script(self._script, keys, [repr(now), item.amount, window, 1, *token, *tail])
            if answer[0] == NOT_LOADED:
                record = await self._records.load(claims.actor.user_id, answer[1].decode())
                if record.refuses(claims):
                    return None, None
                now = time.time()  # after the database's answer: the window's entries stay newest first
                answer = await self._guard.script(
                    self._script, keys, [repr(now), item.amount, window, 0, *token, *tail]
                )
        except RedisUnavailable:
            return await self._one_by_one.admit(claims, rule), None
        if answer[0] == DENIED:
            return None, None
        if answer[0] == WITHIN:
            within = RateLimit(allowed=True, limit=item.amount, remaining=-1, reset_after_seconds=0)
            if fetch is None:
                return within, None
            value = answer[2] if len(answer) > 2 else None  # a Lua table stops at its first nil
            return within, Fetched(answer[1].decode(), bytes(value) if value is not None else None)
        frees_at = float(answer[1]) + window
        refused = RateLimit(
            allowed=False, limit=item.amount, remaining=0, reset_after_seconds=max(0, int(frees_at - now) + 1)
        )
        return refused, None

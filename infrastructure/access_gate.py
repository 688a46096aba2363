"""The per-request gate of the authenticated API in one Redis round trip: the deny-list and the moving window.

Every authenticated request asks two things of Redis: is this token revoked, and is its user within the API
limit. Asked one after the other (RedisRevokedAccessTokens, then SharedLimits) that is two round trips, each
with redis-py's own Python work, on every request; one Lua script asks both. Its moving window is the `limits`
library's (a list of hit times per key, trimmed to the limit; a hit is refused while the limit-th newest is
inside the window), under keys of its own.

Whenever Redis cannot answer for the whole deny-list, the parts answer one after the other with their own
fallbacks: a revocation this process could not publish; the database when the list is not loaded in Redis (then
the window alone, still in Redis); and when Redis does not answer at all, the database and per-process windows.
"""

import time

from application.context import RateLimit, RateRule
from application.sessions import SequentialGate
from infrastructure.rate_limits import SharedLimits, rules
from infrastructure.redis_guard import RedisGuard, RedisUnavailable
from infrastructure.revocations import RedisRevokedAccessTokens
from infrastructure.settings import Settings

# KEYS: the deny-list's loaded marker, the token's deny-list entry, the window. ARGV: now (seconds), the limit,
# the window (seconds), whether to look at the deny-list ("1") or only count the hit ("0").
# Answers {1, 0}: within the limit, counted; {0, oldest}: refused, with the hit time that frees a slot when it
# leaves the window; {-1, 0}: the deny-list is not loaded in Redis; {-2, 0}: the token is revoked.
_ADMIT = """
if ARGV[4] == '1' then
    if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
    if redis.call('EXISTS', KEYS[2]) == 1 then return {-2, 0} end
end
local now, limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local oldest = redis.call('LINDEX', KEYS[3], limit - 1)
if oldest and tonumber(oldest) >= now - window then
    return {0, oldest}
end
redis.call('LPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], 0, limit - 1)
redis.call('EXPIRE', KEYS[3], window)
return {1, 0}
"""
WITHIN, REFUSED, NOT_LOADED, REVOKED = 1, 0, -1, -2


class RedisAccessGate:
    def __init__(
        self, guard: RedisGuard, revocations: RedisRevokedAccessTokens, limits: SharedLimits, settings: Settings
    ) -> None:
        self._guard = guard
        self._revocations = revocations
        self._rules = rules(settings)
        self._prefix = f"{settings.redis_namespace}:gate:"
        self._script = guard.client.register_script(_ADMIT)
        self._one_by_one = SequentialGate(revocations, limits)

    async def admit(self, jti: str, rule: RateRule, key: str) -> RateLimit | None:
        if self._revocations.held_back(jti):
            return None
        item = self._rules[rule]
        window = item.get_expiry()
        # The limit is part of the window's name, as in `limits`: instances set to different limits (a rolling
        # change of TASKFLOW_API_RATE_LIMIT) keep windows of their own instead of trimming each other's.
        keys = [*self._revocations.deny_list_keys(jti), f"{self._prefix}{rule.value}:{item.amount}/{window}:{key}"]
        now = time.time()
        try:
            answer, oldest = await self._guard.call(self._script(keys=keys, args=[repr(now), item.amount, window, 1]))
            if answer == NOT_LOADED:
                if await self._revocations.in_database(jti):
                    return None
                now = time.time()  # after the database's answer: the window's entries stay newest first
                answer, oldest = await self._guard.call(
                    self._script(keys=keys, args=[repr(now), item.amount, window, 0])
                )
        except RedisUnavailable:
            return await self._one_by_one.admit(jti, rule, key)
        if answer == REVOKED:
            return None
        if answer == WITHIN:
            return RateLimit(allowed=True, limit=item.amount, remaining=-1, reset_after_seconds=0)
        frees_at = float(oldest) + window
        return RateLimit(
            allowed=False, limit=item.amount, remaining=0, reset_after_seconds=max(0, int(frees_at - now) + 1)
        )

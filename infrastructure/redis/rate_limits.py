"""Rate limits on the `limits` library's moving window, in Redis for every instance (per process while it is down)."""

import logging
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from application.context import RateLimit, RateRule
from infrastructure.redis.guard import RedisGuard, RedisUnavailable
from infrastructure.settings import Settings

log = logging.getLogger(__name__)

# Failed logins of one account from one client address before that address must wait (until the window frees a
# slot): other addresses, the owner's, are not affected.
FAILED_LOGINS_FROM_ADDRESS = "5 per 15 minutes"
# Failed logins of one account from every address, past which everyone waits: under a minute past the short ceiling
# (TASKFLOW_LOGIN_RATE_LIMIT), up to an hour past this one. One address (20 failures an hour at most) reaches neither.
FAILED_LOGINS_HOURLY = "50 per hour"


def rules(settings: Settings) -> dict[RateRule, RateLimitItem]:
    return {
        RateRule.LOGIN_BY_ADDRESS: parse(settings.login_rate_limit),
        RateRule.FAILED_LOGINS_FROM_ADDRESS: parse(FAILED_LOGINS_FROM_ADDRESS),
        RateRule.FAILED_LOGINS: parse(settings.login_rate_limit),
        RateRule.FAILED_LOGINS_HOURLY: parse(FAILED_LOGINS_HOURLY),
        RateRule.REGISTER_BY_ADDRESS: parse(settings.login_rate_limit),
        RateRule.REFRESH_BY_ADDRESS: parse(settings.refresh_rate_limit),
        RateRule.API_BY_USER: parse(settings.api_rate_limit),
    }


async def _ask(
    limiter: MovingWindowRateLimiter, item: RateLimitItem, rule: RateRule, key: str, count: bool
) -> RateLimit:
    allowed = await (limiter.hit if count else limiter.test)(item, rule.value, key)
    if allowed:
        # The window's details cost another round trip; only a refusal needs them (Retry-After).
        return RateLimit(allowed=True, limit=item.amount, remaining=-1, reset_after_seconds=0)
    stats = await limiter.get_window_stats(item, rule.value, key)
    return RateLimit(
        allowed=allowed,
        limit=item.amount,
        remaining=stats.remaining,
        reset_after_seconds=max(0, int(stats.reset_time - time.time()) + 1),
    )


class ProcessLimits:
    """Moving windows in this process's memory: the fallback, and the limiter of in-memory tests."""

    def __init__(self, settings: Settings) -> None:
        self._rules = rules(settings)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, rule: RateRule, key: str) -> RateLimit:
        return await _ask(self._limiter, self._rules[rule], rule, key, count=True)

    async def peek(self, rule: RateRule, key: str) -> RateLimit:
        return await _ask(self._limiter, self._rules[rule], rule, key, count=False)


class SharedLimits:
    """Moving windows in Redis, shared by every instance; per-process windows while Redis does not answer."""

    def __init__(self, redis: RedisGuard, settings: Settings) -> None:
        self._rules = rules(settings)
        self._redis = redis
        options: dict[str, Any] = {"connection_pool": redis.client.connection_pool}
        storage = RedisStorage(
            "async+redis://localhost:6379",  # not dialled: the app's own connection pool is used
            implementation="redispy",
            key_prefix=f"{settings.redis_namespace}:limits",
            **options,
        )
        self._shared = MovingWindowRateLimiter(storage)
        self._fallback = ProcessLimits(settings)

    async def _decide(self, rule: RateRule, key: str, count: bool) -> RateLimit:
        try:
            return await self._redis.call(_ask(self._shared, self._rules[rule], rule, key, count))
        except RedisUnavailable:
            log.warning("rate limits fall back to this process: Redis did not answer")
            return await (self._fallback.hit if count else self._fallback.peek)(rule, key)

    async def hit(self, rule: RateRule, key: str) -> RateLimit:
        return await self._decide(rule, key, count=True)

    async def peek(self, rule: RateRule, key: str) -> RateLimit:
        return await self._decide(rule, key, count=False)

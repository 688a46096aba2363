"""Background upkeep an API process runs while it serves: republish revocations, purge what has expired."""

import asyncio
import contextlib
import logging

from application.cursors import WALK_RETENTION
from infrastructure.bootstrap import Runtime
from infrastructure.metrics import record_pool
from infrastructure.redis.access_records import REPUBLISH_SECONDS

log = logging.getLogger(__name__)

INVALIDATION_RETRY_SECONDS = 0.5
UPKEEP_LOCK = 0x7461736B666C6F77  # "taskflow": the advisory lock the leading upkeep round holds
PURGE_EVERY = 60  # republish rounds: about five minutes
# Expired session rows are kept a day, so a reuse of a just-expired refresh token still finds its family.
# Superseded task versions are kept as long as a page walk may last (application.cursors.WALK_RETENTION).
PURGE = (
    "DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'",
    "DELETE FROM revoked_access_tokens WHERE expires_at < now() - interval '1 day'",
    "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'",
    "DELETE FROM tasks_view WHERE valid_to IS NOT NULL AND superseded_at < now() - %s::interval",
)


async def keep_up(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run rounds until `stop` is set; a failed round (a dependency down) is logged and tried again next round.

    Stopping is by event rather than by cancellation: a query cancelled mid-flight can surface as an ordinary
    error, which the loop would log and carry on from.
    """
    rounds = 0
    while not stop.is_set():
        try:
            async with runtime.pool.connection() as conn, conn.transaction():
                # One process of the deployment does each round; the others skip it.
                cursor = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (UPKEEP_LOCK,))
                leading = await cursor.fetchone()
                if leading and leading[0]:
                    await runtime.revocations.republish(conn)
                    if rounds % PURGE_EVERY == 0:
                        # The superseded task versions are found by a scan (no index may mention valid_to).
                        await conn.execute("SET LOCAL statement_timeout = '5min'")
                        for statement in PURGE:
                            await conn.execute(statement, (WALK_RETENTION,) if "%s" in statement else None)
        except Exception:  # a round must never end the loop
            log.warning("upkeep round failed; retrying", exc_info=True)
        rounds += 1
        await _wait(runtime, stop)


async def _wait(runtime: Runtime, stop: asyncio.Event) -> None:
    """Until the next round; meanwhile, send cache invalidations Redis did not take, every half second."""
    for _ in range(int(REPUBLISH_SECONDS / INVALIDATION_RETRY_SECONDS)):
        if runtime.cache is not None and runtime.cache.holding_invalidations:
            await runtime.cache.flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INVALIDATION_RETRY_SECONDS)
        if stop.is_set():
            return


async def record_pool_state(runtime: Runtime, stop: asyncio.Event) -> None:
    """The pool's connections for /metrics, every half second until `stop` is set (in a task of its own, so a
    long upkeep round does not leave the figures stale)."""
    while not stop.is_set():
        record_pool(runtime.pool.get_stats())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INVALIDATION_RETRY_SECONDS)

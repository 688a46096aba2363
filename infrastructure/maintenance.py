"""Background upkeep an API process runs while it serves: republish revocations, delete expired session rows."""

import asyncio
import contextlib
import logging

from infrastructure.bootstrap import Runtime

log = logging.getLogger(__name__)

REPUBLISH_SECONDS = 5.0
PURGE_EVERY = 720  # republish rounds: about an hour
# Expired rows are kept a day, so a reuse of a just-expired refresh token still finds its family.
PURGE = (
    "DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'",
    "DELETE FROM revoked_access_tokens WHERE expires_at < now() - interval '1 day'",
)


async def keep_sessions(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run rounds until `stop` is set; a failed round (a dependency down) is logged and tried again next round.

    Stopping is by event rather than by cancellation: a query cancelled mid-flight can surface as an ordinary
    error, which the loop would log and carry on from.
    """
    rounds = 0
    while not stop.is_set():
        try:
            await runtime.revocations.republish()
            if rounds % PURGE_EVERY == 0:
                async with runtime.pool.connection() as conn:
                    for statement in PURGE:
                        await conn.execute(statement)
        except Exception:  # a round must never end the loop
            log.warning("session upkeep round failed; retrying", exc_info=True)
        rounds += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REPUBLISH_SECONDS)

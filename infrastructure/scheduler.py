"""The scheduler process: the refund dispatcher's follower and its enqueue loop (any number may run)."""

import asyncio

from application.projections.registry import followers
from infrastructure.followers import follow
from infrastructure.job_queue import RefundStreamBroker
from infrastructure.postgres import open_pool
from infrastructure.refund_dispatch import RefundDispatcher, dispatch
from infrastructure.settings import Settings
from infrastructure.signals import stop_on_signals
from infrastructure.system import SystemClock


async def run_scheduler(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Turn refund events into due jobs and put them on the queue, until SIGTERM/SIGINT (or `stop`)."""
    assert settings.database_url is not None
    stop = stop_on_signals(stop)
    broker = RefundStreamBroker(settings)
    try:
        async with open_pool(settings.database_url, size=4, checkout_seconds=settings.database_timeout_seconds) as pool:
            # The registry gives the scheduler one follower, the refund dispatcher.
            (dispatcher,) = followers("scheduler")
            assert dispatcher.name == RefundDispatcher.name
            await asyncio.gather(
                follow(settings.database_url, pool, RefundDispatcher(), stop),
                dispatch(pool, broker, SystemClock(), stop),
            )
    finally:
        await broker.shutdown()

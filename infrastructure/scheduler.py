"""The scheduler process: the refund dispatcher's follower and its enqueue loop, and the overdue check (any number
may run)."""

import asyncio

from application.overdue import OverdueCheck
from application.projections.registry import followers
from infrastructure.bootstrap import redis_client
from infrastructure.cache import TaskCache
from infrastructure.followers import follow
from infrastructure.job_queue import RefundStreamBroker
from infrastructure.overdue_check import PostgresOverdueUnitOfWork, check_overdue_every
from infrastructure.postgres import open_pool
from infrastructure.redis_guard import RedisGuard
from infrastructure.refund_dispatch import RefundDispatcher, dispatch
from infrastructure.settings import Settings
from infrastructure.signals import stop_on_signals
from infrastructure.system import RandomIds, SystemClock


async def run_scheduler(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Turn refund events into due jobs and put them on the queue, and mark tasks overdue as their due dates pass,
    until SIGTERM/SIGINT (or `stop`)."""
    assert settings.database_url is not None
    stop = stop_on_signals(stop)
    broker = RefundStreamBroker(settings)
    client = redis_client(settings)
    try:
        async with open_pool(settings.database_url, size=4, checkout_seconds=settings.database_timeout_seconds) as pool:
            # The registry gives the scheduler one follower, the refund dispatcher.
            (dispatcher,) = followers("scheduler")
            assert dispatcher.name == RefundDispatcher.name
            # The check's commits make cached task views stale: it bumps their generations, as the API does.
            cache = TaskCache(RedisGuard(client, settings.redis_timeout_seconds), settings.redis_namespace, 1)
            check = OverdueCheck(lambda: PostgresOverdueUnitOfWork(pool), SystemClock(), RandomIds(), cache)
            await asyncio.gather(
                follow(settings.database_url, pool, RefundDispatcher(), stop),
                dispatch(pool, broker, SystemClock(), stop),
                check_overdue_every(check, settings.overdue_check_seconds, stop),
            )
    finally:
        await broker.shutdown()
        await client.aclose()

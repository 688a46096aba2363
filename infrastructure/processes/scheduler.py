"""The scheduler process: refund jobs dispatched from the log, and tasks marked overdue (any number may run)."""

import asyncio
import contextlib
import logging

from application.overdue import OverdueCheck, mark_overdue_tasks
from application.ports import Clock
from application.projections.registry import followers
from infrastructure.bootstrap import redis_client
from infrastructure.clock import RandomIds, SystemClock
from infrastructure.postgres.due_tasks import PostgresOverdueUnitOfWork
from infrastructure.postgres.followers import follow
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.postgres.refund_jobs import RefundDispatcher, enqueue_due, requeue_lost
from infrastructure.processes.heap import settle_heap
from infrastructure.processes.signals import stop_on_signals
from infrastructure.redis.cache import TaskCache
from infrastructure.redis.guard import RedisGuard
from infrastructure.redis.job_queue import RefundStreamBroker
from infrastructure.settings import Settings

log = logging.getLogger(__name__)

TICK_SECONDS = 0.2
LOSS_CHECK_SECONDS = 2.0
RETRY_SECONDS = 1.0


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
            settle_heap()
            await asyncio.gather(
                follow(settings.database_url, pool, RefundDispatcher(), stop),
                dispatch(pool, broker, SystemClock(), stop),
                check_overdue_every(check, settings.overdue_check_seconds, stop),
            )
    finally:
        await broker.shutdown()
        await client.aclose()


async def dispatch(pool: Pool, broker: RefundStreamBroker, clock: Clock, stop: asyncio.Event) -> None:
    """Until `stop`: enqueue due refund jobs every tick, and look for jobs Redis lost every few seconds."""
    loop = asyncio.get_running_loop()
    checked_at = 0.0
    while not stop.is_set():
        try:
            await enqueue_due(pool, broker, clock.now())
            if loop.time() - checked_at >= LOSS_CHECK_SECONDS:
                await requeue_lost(pool, broker)
                checked_at = loop.time()
        except Exception:  # a dependency is down: nothing was marked, so the same jobs come again next tick
            log.warning("refund dispatch failed; retrying", exc_info=True)
            await _sleep(stop, 1.0)
        await _sleep(stop, TICK_SECONDS)


async def check_overdue_every(check: OverdueCheck, period_seconds: float, stop: asyncio.Event) -> None:
    """Run the overdue check now (catching up on whatever fell due while no scheduler ran), then every
    `period_seconds` from the start of the last run, until `stop`.

    The scheduler's own loop rather than a Taskiq scheduled task: PostgreSQL already shares the work out (SKIP
    LOCKED) and makes each batch whole or nothing, so every scheduler may run it and any may die; Taskiq's
    scheduler must run as a single instance."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        try:
            await mark_overdue_tasks(check, stop.is_set)
        except Exception:  # a dependency is down: the batch rolled back whole, and its tasks come again
            log.warning("overdue check failed; retrying", exc_info=True)
            await _sleep(stop, RETRY_SECONDS)
            continue
        await _sleep(stop, period_seconds - (loop.time() - started))


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))

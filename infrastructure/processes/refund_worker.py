"""The refund worker process: a Taskiq receiver on the refund job stream, one payment attempt per job."""

import asyncio
import contextlib
import functools
import logging
import random
from typing import Annotated
from uuid import UUID

import msgspec
from taskiq import Context, TaskiqDepends
from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

from application.payments import AttemptRefund, Payments, attempt_refund
from domain.refunds import RetryPolicy
from infrastructure.bootstrap import open_runtime, payments
from infrastructure.gateway import HttpRefundGateway, SimulatedGateway
from infrastructure.processes.heap import settle_heap
from infrastructure.processes.signals import stop_on_signals
from infrastructure.redis.job_queue import PAY_REFUND, RefundStreamBroker
from infrastructure.settings import Settings

log = logging.getLogger(__name__)

# How long a stopping worker leaves for its connections to close, out of TASKFLOW_SHUTDOWN_SECONDS; the rest is
# for the jobs it is running (those cut short are left unacknowledged and delivered again).
CLOSE_SECONDS = 3.0


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_seconds=settings.refund_retry_base_seconds,
        max_seconds=settings.refund_retry_max_seconds,
        max_attempts=settings.refund_max_attempts,
    )


def _register(broker: RefundStreamBroker, payments: Payments) -> None:
    async def pay_refund(refund_id: str, attempt: int, context: Annotated[Context, TaskiqDepends()]) -> None:
        report = await attempt_refund(AttemptRefund(UUID(refund_id), attempt), payments)
        if report.settled:
            await context.ack()

    broker.register_task(pay_refund, task_name=PAY_REFUND)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Receive and run refund jobs until SIGTERM/SIGINT (or `stop`); any number of workers may run. A job is
    acknowledged once its outcome is in the log; one that fails on a dependency, or whose worker dies, is delivered
    again after the redelivery timeout."""
    stop = stop_on_signals(stop)
    gateway = (
        HttpRefundGateway(settings.refund_gateway_url, settings.refund_gateway_timeout_seconds)
        if settings.refund_gateway_url
        else SimulatedGateway()
    )
    broker = RefundStreamBroker(settings)
    # Each running job holds a connection while it calls the gateway; the pool must not make jobs wait for one.
    pool_size = max(settings.database_pool_size, settings.worker_concurrency + 2)
    async with open_runtime(msgspec.structs.replace(settings, database_pool_size=pool_size)) as runtime:
        spread = functools.partial(random.uniform, -1.0, 1.0)
        _register(broker, payments(runtime.deps, gateway, retry_policy(settings), spread))
        settle_heap()
        broker.is_worker_process = True
        try:
            await _receive(broker, settings, stop)
        finally:
            with contextlib.suppress(Exception, TimeoutError):
                await asyncio.wait_for(broker.shutdown(), CLOSE_SECONDS)
            await gateway.aclose()


def _job_grace(settings: Settings) -> float:
    return max(1.0, settings.shutdown_seconds - CLOSE_SECONDS - 2)


async def _receive(broker: RefundStreamBroker, settings: Settings, stop: asyncio.Event) -> None:
    started = False
    while not stop.is_set():
        try:
            if not started:
                await broker.startup()
                started = True
            receiver = Receiver(
                broker,
                max_async_tasks=settings.worker_concurrency,
                ack_type=AcknowledgeType.MANUAL,
                run_startup=False,
                wait_tasks_timeout=_job_grace(settings),
            )
            finish = asyncio.Event()
            listening = asyncio.create_task(receiver.listen(finish))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({listening, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                finish.set()
                # Bounded: whatever does not finish in time is left unacknowledged and delivered again.
                finished, _ = await asyncio.wait({listening}, timeout=_job_grace(settings) + 1)
                if not finished:
                    listening.cancel()
                    log.warning("the worker stopped with jobs unfinished; they will be delivered again")
                return
            stopping.cancel()
            listening.result()
        except Exception:  # Redis went away mid-listen: the pending jobs stay in the stream; listen again
            log.warning("the worker lost the job queue; listening again", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

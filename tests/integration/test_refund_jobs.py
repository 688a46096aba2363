"""Refund jobs end to end against a real local HTTP gateway: the scheduler and worker run in this process, on the
real PostgreSQL and Redis, and the gateway fails, refuses or hangs as each test scripts it."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import UUID, uuid4

import msgspec
import pytest

from application.context import Actor, RequestContext
from application.payments import Attempted, AttemptRefund, attempt_refund
from application.queries import get_task
from application.refunds import get_refund, list_dead_letters, request_refund, retry_dead_letter
from application.tasks import CreateTask, DeleteTask, create_task, delete_task
from application.views import RefundView
from domain.refunds import RefundStatus, RetryPolicy
from domain.values import Money, Role
from infrastructure.bootstrap import Dependencies, open_runtime, payments
from infrastructure.gateway import HttpRefundGateway
from infrastructure.postgres.pool import Pool
from infrastructure.processes.embedded_servers import embedded_redis
from infrastructure.processes.refund_worker import run_worker
from infrastructure.processes.scheduler import run_scheduler
from infrastructure.redis.job_queue import RefundStreamBroker
from infrastructure.settings import Settings
from tests.gateway import HANG, ScriptedGateway, serving

BASE = 0.3  # seconds: the first retry's nominal delay in these tests
FEE = Money(amount=1250, currency="EUR")
ADMIN = RequestContext(actor=Actor(uuid4(), Role.ADMIN), request_id="test-admin")


def owner() -> RequestContext:
    return RequestContext(actor=Actor(uuid4(), Role.USER), request_id="test")


def job_settings(settings: Settings, gateway: ScriptedGateway, **changes: object) -> Settings:
    fields: dict[str, object] = {
        "refund_gateway_url": gateway.url,
        "refund_retry_base_seconds": BASE,
        "refund_retry_max_seconds": 60.0,
        "refund_max_attempts": 5,
        "refund_gateway_timeout_seconds": 1.0,
        "job_redelivery_seconds": 3.0,
    }
    return msgspec.structs.replace(settings, **(fields | changes))


@asynccontextmanager
async def running(settings: Settings, *, worker: bool = True, scheduler: bool = True) -> AsyncIterator[None]:
    """The scheduler and a worker, as their processes run them, until the block ends."""
    stop = asyncio.Event()
    parts = ([run_scheduler(settings, stop)] if scheduler else []) + ([run_worker(settings, stop)] if worker else [])
    tasks = [asyncio.create_task(part) for part in parts]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


async def refund_of_new_task(deps: Dependencies, ctx: RequestContext) -> RefundView:
    task = await create_task(CreateTask(title="Paid task", fee=FEE), ctx, deps.tasks)
    return await request_refund(task.id, ctx, deps.tasks)


async def settled(deps: Dependencies, ctx: RequestContext, refund_id: UUID) -> RefundView:
    """The refund once it is SUCCEEDED or FAILED."""
    found: list[RefundView] = []

    async def done() -> bool:
        found[:] = [await get_refund(refund_id, ctx, deps.refunds)]
        return found[0].status is not RefundStatus.REQUESTED

    await eventually(done)
    return found[0]


@pytest.fixture
async def deps(settings: Settings) -> AsyncIterator[Dependencies]:
    async with open_runtime(settings) as runtime:
        yield runtime.deps


class TestRetries:
    async def test_success_after_transient_failures_with_growing_gaps(self, settings: Settings) -> None:
        async with serving(ScriptedGateway(script=[503, 429, 408])) as gateway:
            tuned = job_settings(settings, gateway)
            async with open_runtime(tuned) as runtime, running(tuned):
                ctx = owner()
                refund = await refund_of_new_task(runtime.deps, ctx)
                cached = await get_task(refund.task_id, ctx, runtime.deps.task_reads)
                final = await settled(runtime.deps, ctx, refund.id)
                shown = await get_task(refund.task_id, ctx, runtime.deps.task_reads)
        assert cached.refund is not None
        assert cached.refund.status is RefundStatus.REQUESTED
        assert shown.refund == final  # the worker's outcome invalidated the cached task
        assert final.status is RefundStatus.SUCCEEDED
        assert final.attempts == 4
        assert final.completed_at is not None
        assert [call.key for call in gateway.calls] == [str(refund.id)] * 4
        assert gateway.calls[0].body == {
            "refundId": str(refund.id),
            "taskId": str(refund.task_id),
            "amount": 1250,
            "currency": "EUR",
        }
        gaps = [later.at - earlier.at for earlier, later in zip(gateway.calls, gateway.calls[1:], strict=False)]
        for n, gap in enumerate(gaps, start=1):
            nominal = BASE * 2 ** (n - 1)
            assert 0.75 * nominal <= gap <= 1.25 * nominal + 1.0, (n, gap, gaps)
        assert gaps[0] < gaps[1] < gaps[2]

    async def test_a_hung_gateway_is_a_transient_failure(self, settings: Settings) -> None:
        async with serving(ScriptedGateway(script=[HANG])) as gateway:
            tuned = job_settings(settings, gateway, refund_gateway_timeout_seconds=0.5)
            async with open_runtime(tuned) as runtime, running(tuned):
                ctx = owner()
                refund = await refund_of_new_task(runtime.deps, ctx)
                final = await settled(runtime.deps, ctx, refund.id)
        assert (final.status, final.attempts) == (RefundStatus.SUCCEEDED, 2)
        assert gateway.paid(str(refund.id)) == 1

    async def test_exhausted_attempts_make_a_dead_letter(self, settings: Settings) -> None:
        async with serving(ScriptedGateway(then=503)) as gateway:
            tuned = job_settings(settings, gateway, refund_max_attempts=3)
            async with open_runtime(tuned) as runtime, running(tuned):
                ctx = owner()
                refund = await refund_of_new_task(runtime.deps, ctx)
                final = await settled(runtime.deps, ctx, refund.id)
                letters = await list_dead_letters(10, None, ADMIN, runtime.deps.refunds)
        assert (final.status, final.attempts, final.last_error) == (RefundStatus.FAILED, 3, "gateway answered 503")
        assert len(gateway.calls) == 3
        assert [letter.id for letter in letters.data] == [refund.id]


class TestDeadLetters:
    async def test_permanent_failure_goes_straight_to_the_queue_and_a_retry_pays(self, settings: Settings) -> None:
        async with serving(ScriptedGateway(script=[400])) as gateway:
            tuned = job_settings(settings, gateway)
            async with open_runtime(tuned) as runtime, running(tuned):
                ctx = owner()
                refund = await refund_of_new_task(runtime.deps, ctx)
                failed = await settled(runtime.deps, ctx, refund.id)
                assert (failed.status, failed.attempts) == (RefundStatus.FAILED, 1)
                assert len(gateway.calls) == 1
                letters = await list_dead_letters(10, None, ADMIN, runtime.deps.refunds)
                assert [letter.id for letter in letters.data] == [refund.id]

                retried = await retry_dead_letter(refund.id, ADMIN, runtime.deps.refunds)
                assert retried.status is RefundStatus.REQUESTED
                final = await settled(runtime.deps, ctx, refund.id)
                letters = await list_dead_letters(10, None, ADMIN, runtime.deps.refunds)
        assert (final.status, final.attempts) == (RefundStatus.SUCCEEDED, 2)
        assert letters.data == []
        assert gateway.paid(str(refund.id)) == 1

    async def test_dead_letters_survive_redis_losing_everything(self, settings: Settings, tmp_path: Path) -> None:
        async with serving(ScriptedGateway(then=400)) as gateway:
            with embedded_redis(tmp_path) as private_redis:
                tuned = job_settings(settings, gateway, redis_url=private_redis)
                async with open_runtime(tuned) as runtime:
                    async with running(tuned):
                        ctx = owner()
                        refund = await refund_of_new_task(runtime.deps, ctx)
                        await settled(runtime.deps, ctx, refund.id)
                    await runtime.redis.flushall()
                    letters = await list_dead_letters(10, None, ADMIN, runtime.deps.refunds)
        assert [letter.id for letter in letters.data] == [refund.id]


class TestDeliveries:
    async def test_two_deliveries_at_once_pay_once(self, settings: Settings, pool: Pool) -> None:
        async with serving(ScriptedGateway(delay_seconds=0.5)) as gateway:
            tuned = job_settings(settings, gateway)
            async with open_runtime(tuned) as runtime:
                ctx = owner()
                refund = await refund_of_new_task(runtime.deps, ctx)
                client = HttpRefundGateway(gateway.url, 2.0)
                paying = payments(runtime.deps, client, RetryPolicy(BASE, 60.0, 5), lambda: 0.0)
                job = AttemptRefund(refund.id, 1)
                reports = await asyncio.gather(attempt_refund(job, paying), attempt_refund(job, paying))
                again = await attempt_refund(job, paying)
                await client.aclose()
        assert sorted(report.result for report in reports) == sorted([Attempted.PAID, Attempted.BUSY])
        assert again.result is Attempted.NOT_AWAITED
        assert len(gateway.calls) == 1
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) FROM events WHERE stream_id = %s AND type = 'RefundSucceeded'", (refund.id,)
            )
            assert await cursor.fetchone() == (1,)

    async def test_jobs_lost_in_a_redis_flush_are_queued_again(self, settings: Settings, tmp_path: Path) -> None:
        async with serving(ScriptedGateway()) as gateway:
            with embedded_redis(tmp_path) as private_redis:
                tuned = job_settings(settings, gateway, redis_url=private_redis)
                async with open_runtime(tuned) as runtime:
                    ctx = owner()
                    async with running(tuned, worker=False):
                        refunds = [await refund_of_new_task(runtime.deps, ctx) for _ in range(3)]
                        broker = RefundStreamBroker(tuned)
                        await eventually(lambda: _queued(broker, 3))
                        await runtime.redis.flushall()
                        await eventually(lambda: _queued(broker, 3))
                        await broker.shutdown()
                    async with running(tuned, scheduler=False):
                        finals = [await settled(runtime.deps, ctx, refund.id) for refund in refunds]
        assert {final.status for final in finals} == {RefundStatus.SUCCEEDED}
        assert all(gateway.paid(str(refund.id)) == 1 for refund in refunds)


async def _queued(broker: RefundStreamBroker, count: int) -> bool:
    queued, _ = await broker.counts()
    return queued == count


class TestPolicy:
    async def test_a_deleted_task_with_a_fee_is_refunded(self, settings: Settings) -> None:
        async with serving(ScriptedGateway()) as gateway:
            tuned = job_settings(settings, gateway)
            async with open_runtime(tuned) as runtime, running(tuned):
                ctx = owner()
                task = await create_task(CreateTask(title="Paid, then deleted", fee=FEE), ctx, runtime.deps.tasks)
                await delete_task(DeleteTask(task_id=task.id), ctx, runtime.deps.tasks)
                async with runtime.deps.tasks.uow() as uow:
                    history = await uow.events.load(task.id)
                refund_id = UUID(history[-1].data["refundId"])
                final = await settled(runtime.deps, ctx, refund_id)
        assert [record.type for record in history] == ["TaskCreated", "TaskDeleted", "TaskRefundRequested"]
        assert (final.status, final.amount, final.currency, final.task_id) == (
            RefundStatus.SUCCEEDED,
            1250,
            "EUR",
            task.id,
        )
        assert gateway.paid(str(refund_id)) == 1

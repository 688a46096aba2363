"""The payment handler on in-memory adapters: one attempt, its outcome recorded once, one log line per attempt."""

import logging

import pytest

from application.context import RequestContext
from application.payments import Attempted, AttemptRefund, Payments, attempt_refund
from application.ports import PaymentOutcome, RefundOrder
from application.refunds import get_refund, request_refund
from application.tasks import CreateTask, create_task
from domain.refunds import RefundStatus, RetryPolicy
from domain.values import Money
from infrastructure import bootstrap
from infrastructure.bootstrap import Dependencies
from tests.unit.test_handlers import World


class FakeGateway:
    """Answers from a list of outcomes, then pays; remembers every order."""

    def __init__(self, *outcomes: PaymentOutcome) -> None:
        self.outcomes = list(outcomes)
        self.orders: list[RefundOrder] = []

    async def pay(self, order: RefundOrder) -> PaymentOutcome:
        self.orders.append(order)
        return self.outcomes.pop(0) if self.outcomes else PaymentOutcome(paid=True)


UNAVAILABLE = PaymentOutcome(paid=False, error="gateway answered 503", transient=True)
REFUSED = PaymentOutcome(paid=False, error="gateway answered 400", transient=False)


def payments(deps: Dependencies, gateway: FakeGateway, max_attempts: int = 3) -> Payments:
    return bootstrap.payments(deps, gateway, RetryPolicy(2.0, 300.0, max_attempts), lambda: 1.0)


async def new_refund(world: World) -> tuple[RequestContext, AttemptRefund]:
    ctx = await world.register("payer@example.com")
    task = await create_task(CreateTask(title="Paid", fee=Money(amount=250, currency="CHF")), ctx, world.deps.tasks)
    refund = await request_refund(task.id, ctx, world.deps.tasks)
    return ctx, AttemptRefund(refund_id=refund.id, attempt=1)


class TestAttempts:
    async def test_a_paid_attempt_succeeds_the_refund_and_shows_on_the_task(self) -> None:
        world = World()
        ctx, job = await new_refund(world)
        gateway = FakeGateway()
        report = await attempt_refund(job, payments(world.deps, gateway))
        assert report.result is Attempted.PAID
        assert [(o.refund_id, o.amount, o.currency) for o in gateway.orders] == [(job.refund_id, 250, "CHF")]
        refund = await get_refund(job.refund_id, ctx, world.deps.refunds)
        assert (refund.status, refund.attempts) == (RefundStatus.SUCCEEDED, 1)
        task = await world.deps.task_reads.tasks.get(refund.task_id)
        assert task is not None
        assert task.refund == refund

    async def test_a_transient_failure_reports_its_jittered_delay(self) -> None:
        world = World()
        _, job = await new_refund(world)
        report = await attempt_refund(job, payments(world.deps, FakeGateway(UNAVAILABLE)))
        assert (report.result, report.retry_in_seconds) == (Attempted.RETRYING, 2.5)  # 2 s, +25% at spread 1

    async def test_a_permanent_failure_is_final(self) -> None:
        world = World()
        _, job = await new_refund(world)
        report = await attempt_refund(job, payments(world.deps, FakeGateway(REFUSED)))
        assert (report.result, report.error) == (Attempted.FAILED, "gateway answered 400")

    async def test_a_repeated_job_does_nothing(self) -> None:
        world = World()
        _, job = await new_refund(world)
        gateway = FakeGateway()
        await attempt_refund(job, payments(world.deps, gateway))
        again = await attempt_refund(job, payments(world.deps, gateway))
        assert again.result is Attempted.NOT_AWAITED
        assert again.settled
        assert len(gateway.orders) == 1

    async def test_an_attempt_held_elsewhere_is_left_for_later(self) -> None:
        world = World()
        _, job = await new_refund(world)
        gateway = FakeGateway()
        async with world.deps.refunds.uow() as uow:
            assert await uow.try_lock(job.refund_id)
            report = await attempt_refund(job, payments(world.deps, gateway))
        assert report.result is Attempted.BUSY
        assert not report.settled  # not acknowledged: delivered again later
        assert gateway.orders == []


class TestLogs:
    async def test_one_line_per_attempt_with_what_an_operator_needs(self, caplog: pytest.LogCaptureFixture) -> None:
        world = World()
        _, job = await new_refund(world)
        with caplog.at_level(logging.INFO, logger="taskflow.refunds"):
            await attempt_refund(job, payments(world.deps, FakeGateway(UNAVAILABLE)))
            await attempt_refund(job, payments(world.deps, FakeGateway()))  # a repeat: not an attempt
        lines = [r for r in caplog.records if r.name == "taskflow.refunds"]
        assert len(lines) == 1
        fields = {k: getattr(lines[0], k) for k in ("refundId", "attempt", "outcome", "error", "retryInSeconds")}
        assert fields == {
            "refundId": str(job.refund_id),
            "attempt": 1,
            "outcome": "retrying",
            "error": "gateway answered 503",
            "retryInSeconds": 2.5,
        }

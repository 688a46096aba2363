"""Paying a refund: one attempt of a job, recorded once however often the job is delivered."""

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import msgspec

from application.errors import ConcurrencyError
from application.folds import refund_state
from application.ports import (
    Clock,
    PaymentOutcome,
    RefundGateway,
    RefundOrder,
    TaskCacheInvalidation,
    UnitOfWorkFactory,
)
from application.records import EventMetadata, StreamAppend
from domain import refunds

log = logging.getLogger("taskflow.refunds")

WORKER_ACTOR = "system:refund-worker"


class AttemptRefund(msgspec.Struct, frozen=True):
    refund_id: UUID
    attempt: int


class Attempted(enum.StrEnum):
    PAID = "paid"
    RETRYING = "retrying"  # failed; the next attempt is scheduled
    FAILED = "failed"  # failed for good: a dead letter
    NOT_AWAITED = "not-awaited"  # recorded already, or the refund is paid or failed: nothing to do
    BUSY = "busy"  # another delivery of the same job is working on it now


class AttemptReport(msgspec.Struct, frozen=True):
    result: Attempted
    error: str | None = None
    retry_in_seconds: float | None = None

    @property
    def settled(self) -> bool:
        """Whether the job is finished with (its outcome is in the log, or there is nothing to do)."""
        return self.result is not Attempted.BUSY


@dataclass(frozen=True, slots=True)
class Payments:
    """What a refund attempt uses: the log, the gateway, the retry policy and a source of jitter."""

    uow: UnitOfWorkFactory
    clock: Clock
    cache: TaskCacheInvalidation  # a refund shows on its task
    gateway: RefundGateway
    policy: refunds.RetryPolicy
    spread: Callable[[], float]  # uniform in [-1, 1]


async def attempt_refund(command: AttemptRefund, payments: Payments) -> AttemptReport:
    """Make attempt `command.attempt` of the refund if it is the one awaited, and record its outcome. The attempt
    holds an exclusive claim on the refund, so a second delivery of the job waits out the first, then finds the
    attempt recorded and does nothing; a failure records the delay before the next attempt on the refund's stream."""
    fields = {"refundId": str(command.refund_id), "correlationId": str(command.refund_id), "attempt": command.attempt}
    try:
        report, state = await _attempt(command, payments)
    except ConcurrencyError:
        # Someone recorded this refund meanwhile (an operator, or a duplicate delivery): nothing left to do here.
        report, state = AttemptReport(Attempted.NOT_AWAITED), refunds.INITIAL
    except Exception:
        # Not recorded (a dependency failed): the job stays unacknowledged and is delivered again.
        log.warning("refund attempt", extra=fields | {"outcome": "not-recorded"}, exc_info=True)
        raise
    if report.result in (Attempted.PAID, Attempted.RETRYING, Attempted.FAILED):
        extra = {"outcome": report.result.value, "error": report.error, "retryInSeconds": report.retry_in_seconds}
        log.info("refund attempt", extra=fields | extra)
    if state.task_id is not None and state.owner_id is not None and report.result is not Attempted.NOT_AWAITED:
        await payments.cache.tasks_changed([state.task_id], [state.owner_id])
    return report


async def _attempt(command: AttemptRefund, payments: Payments) -> tuple[AttemptReport, refunds.Refund]:
    async with payments.uow() as uow:
        if not await uow.try_lock(command.refund_id):
            return AttemptReport(Attempted.BUSY), refunds.INITIAL
        records = await uow.events.load(command.refund_id)
        state = refund_state(records)
        if state.task_id is None or state.awaiting != command.attempt:
            return AttemptReport(Attempted.NOT_AWAITED), refunds.INITIAL
        outcome = await payments.gateway.pay(
            RefundOrder(
                refund_id=command.refund_id, task_id=state.task_id, amount=state.amount, currency=state.currency
            )
        )
        events = refunds.decide(_record(command.attempt, outcome, payments), state)
        metadata = EventMetadata(
            actor_id=WORKER_ACTOR, correlation_id=str(command.refund_id), causation_id=str(command.refund_id)
        )
        await uow.events.append(
            [StreamAppend(command.refund_id, refunds.STREAM_TYPE, records[-1].version, list(events))],
            metadata,
            payments.clock.now(),
        )
    return _report(events), state


def _record(attempt: int, outcome: PaymentOutcome, payments: Payments) -> refunds.RefundCommand:
    if outcome.paid:
        return refunds.RecordPayment(attempt=attempt)
    return refunds.RecordFailure(
        attempt=attempt,
        error=outcome.error or "failed",
        transient=outcome.transient,
        policy=payments.policy,
        spread=payments.spread(),
    )


def _report(events: list[refunds.RefundEvent]) -> AttemptReport:
    first = events[0]
    if isinstance(first, refunds.RefundSucceeded):
        return AttemptReport(Attempted.PAID)
    assert isinstance(first, refunds.RefundAttemptFailed)
    if first.retry_in_seconds is None:
        return AttemptReport(Attempted.FAILED, first.error)
    return AttemptReport(Attempted.RETRYING, first.error, first.retry_in_seconds)

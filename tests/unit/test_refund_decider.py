"""The Refund decider as given events / when command / then events, and the retry schedule's bounds."""

from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given as for_all
from hypothesis import strategies as st

from domain import refunds, tasks
from domain.errors import (
    AttemptNotAwaited,
    DomainError,
    FeeLocked,
    RefundAlreadyRequested,
    RefundNotFailed,
    RefundNotFound,
    TaskHasNoFee,
)
from domain.refunds import (
    RecordFailure,
    RecordPayment,
    RefundAttemptFailed,
    RefundDismissed,
    RefundFailed,
    RefundRequested,
    RefundRetried,
    RefundStatus,
    RefundSucceeded,
    RequestRefund,
    RetryPolicy,
)
from domain.values import Money

TASK = UUID("00000000-0000-4000-8000-00000000000a")
OWNER = UUID("00000000-0000-4000-8000-000000000001")
REFUND = UUID("00000000-0000-4000-8000-0000000000f1")
AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_seconds=2.0, max_seconds=300.0, max_attempts=3)
REQUESTED = RefundRequested(task_id=TASK, owner_id=OWNER, amount=500, currency="EUR")


def given(*events: refunds.RefundEvent) -> refunds.Refund:
    return refunds.fold(events, at=AT)


def failure(attempt: int, transient: bool = True, spread: float = 0.0) -> RecordFailure:
    return RecordFailure(
        attempt=attempt, error="gateway answered 503", transient=transient, policy=POLICY, spread=spread
    )


class TestRequest:
    def test_a_request_starts_the_refund(self) -> None:
        command = RequestRefund(task_id=TASK, owner_id=OWNER, amount=500, currency="EUR")
        assert refunds.decide(command, refunds.INITIAL) == [REQUESTED]
        state = given(REQUESTED)
        assert (state.status, state.awaiting, state.requested_at) == (RefundStatus.REQUESTED, 1, AT)

    def test_a_second_request_is_refused(self) -> None:
        command = RequestRefund(task_id=TASK, owner_id=OWNER, amount=500, currency="EUR")
        with pytest.raises(RefundAlreadyRequested):
            refunds.decide(command, given(REQUESTED))

    def test_nothing_but_a_request_starts_a_refund(self) -> None:
        with pytest.raises(RefundNotFound):
            refunds.decide(RecordPayment(attempt=1), refunds.INITIAL)


class TestAttempts:
    def test_a_payment_succeeds_the_refund(self) -> None:
        assert refunds.decide(RecordPayment(attempt=1), given(REQUESTED)) == [RefundSucceeded(attempt=1)]
        state = given(REQUESTED, RefundSucceeded(attempt=1))
        assert (state.status, state.attempts, state.awaiting, state.completed_at) == (
            RefundStatus.SUCCEEDED,
            1,
            None,
            AT,
        )

    def test_a_second_success_is_refused(self) -> None:
        with pytest.raises(AttemptNotAwaited):
            refunds.decide(RecordPayment(attempt=1), given(REQUESTED, RefundSucceeded(attempt=1)))
        with pytest.raises(AttemptNotAwaited):
            refunds.decide(RecordPayment(attempt=2), given(REQUESTED, RefundSucceeded(attempt=1)))

    def test_an_outcome_for_an_attempt_not_awaited_is_refused(self) -> None:
        with pytest.raises(AttemptNotAwaited):
            refunds.decide(RecordPayment(attempt=2), given(REQUESTED))

    def test_a_transient_failure_schedules_the_next_attempt(self) -> None:
        assert refunds.decide(failure(1), given(REQUESTED)) == [
            RefundAttemptFailed(attempt=1, error="gateway answered 503", transient=True, retry_in_seconds=2.0)
        ]
        first = RefundAttemptFailed(attempt=1, error="x", transient=True, retry_in_seconds=2.0)
        assert refunds.decide(failure(2), given(REQUESTED, first))[0] == RefundAttemptFailed(
            attempt=2, error="gateway answered 503", transient=True, retry_in_seconds=4.0
        )

    def test_a_permanent_failure_fails_at_once(self) -> None:
        assert refunds.decide(failure(1, transient=False), given(REQUESTED)) == [
            RefundAttemptFailed(attempt=1, error="gateway answered 503", transient=False, retry_in_seconds=None),
            RefundFailed(attempts=1, error="gateway answered 503"),
        ]

    def test_the_last_attempt_fails_the_refund(self) -> None:
        failed = [RefundAttemptFailed(attempt=n, error="x", transient=True, retry_in_seconds=1.0) for n in (1, 2)]
        events = refunds.decide(failure(3), given(REQUESTED, *failed))
        assert events[-1] == RefundFailed(attempts=3, error="gateway answered 503")
        state = given(REQUESTED, *failed, *events)
        assert (state.status, state.is_dead_letter, state.awaiting) == (RefundStatus.FAILED, True, None)


class TestDeadLetters:
    FAILED = (
        REQUESTED,
        RefundAttemptFailed(attempt=1, error="gateway answered 400", transient=False, retry_in_seconds=None),
        RefundFailed(attempts=1, error="gateway answered 400"),
    )

    def test_a_retry_starts_a_new_series(self) -> None:
        assert refunds.decide(refunds.RetryRefund(), given(*self.FAILED)) == [RefundRetried(attempt=2)]
        state = given(*self.FAILED, RefundRetried(attempt=2))
        assert (state.status, state.awaiting, state.series_start) == (RefundStatus.REQUESTED, 2, 2)
        # The new series has the whole attempt budget again, and its backoff starts from the base.
        events = refunds.decide(failure(2), state)
        assert events == [
            RefundAttemptFailed(attempt=2, error="gateway answered 503", transient=True, retry_in_seconds=2.0)
        ]

    def test_only_a_failed_refund_is_retried_or_dismissed(self) -> None:
        for command in (refunds.RetryRefund(), refunds.DismissRefund()):
            with pytest.raises(RefundNotFailed):
                refunds.decide(command, given(REQUESTED))

    def test_a_dismissed_dead_letter_that_fails_again_is_a_dead_letter_again(self) -> None:
        retried = given(*self.FAILED, RefundDismissed(), RefundRetried(attempt=2))
        events = refunds.decide(failure(2, transient=False), retried)
        assert given(*self.FAILED, RefundDismissed(), RefundRetried(attempt=2), *events).is_dead_letter

    def test_a_dismissed_dead_letter_leaves_the_queue(self) -> None:
        assert refunds.decide(refunds.DismissRefund(), given(*self.FAILED)) == [RefundDismissed()]
        state = given(*self.FAILED, RefundDismissed())
        assert (state.status, state.is_dead_letter) == (RefundStatus.FAILED, False)
        with pytest.raises(RefundNotFailed):
            refunds.decide(refunds.DismissRefund(), state)


class TestRetrySchedule:
    @for_all(
        st.integers(min_value=1, max_value=40),
        st.floats(min_value=-1.0, max_value=1.0),
        st.floats(min_value=0.01, max_value=100.0),
        st.floats(min_value=0.01, max_value=1000.0),
    )
    def test_the_delay_is_base_times_two_to_the_n_minus_one_within_25_percent_capped(
        self, attempt: int, spread: float, base: float, cap: float
    ) -> None:
        policy = RetryPolicy(base_seconds=base, max_seconds=cap, max_attempts=50)
        nominal = base * 2.0 ** (attempt - 1)
        delay = policy.delay(attempt, spread)
        assert delay <= cap * (1 + 1e-9)
        assert 0.75 * min(cap, nominal) * (1 - 1e-9) <= delay <= 1.25 * nominal * (1 + 1e-9)

    def test_the_delays_grow_exponentially_not_linearly(self) -> None:
        policy = RetryPolicy(base_seconds=2.0, max_seconds=300.0, max_attempts=10)
        assert [policy.delay(n, 0.0) for n in range(1, 10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300]


class TestTaskRefunds:
    CREATED = tasks.TaskCreated(owner_id=OWNER, title="Paid", fee=Money(amount=500, currency="EUR"))

    def test_a_task_with_a_fee_records_its_one_refund(self) -> None:
        state = tasks.fold([self.CREATED])
        assert tasks.decide(tasks.RequestTaskRefund(refund_id=REFUND), state) == [
            tasks.TaskRefundRequested(refund_id=REFUND)
        ]
        refunded = tasks.fold([tasks.TaskRefundRequested(refund_id=REFUND)], state)
        with pytest.raises(RefundAlreadyRequested):
            tasks.decide(tasks.RequestTaskRefund(refund_id=REFUND), refunded)

    def test_a_task_without_a_fee_cannot_be_refunded(self) -> None:
        state = tasks.fold([tasks.TaskCreated(owner_id=OWNER, title="Free", fee=None)])
        with pytest.raises(TaskHasNoFee):
            tasks.decide(tasks.RequestTaskRefund(refund_id=REFUND), state)

    def test_the_fee_is_locked_once_refunded_but_other_fields_are_not(self) -> None:
        refunded = tasks.fold([self.CREATED, tasks.TaskRefundRequested(refund_id=REFUND)])
        with pytest.raises(FeeLocked):
            tasks.decide(tasks.UpdateTask(fee=Money(amount=1, currency="EUR")), refunded)
        assert tasks.decide(tasks.UpdateTask(title="Renamed"), refunded) == [tasks.TaskUpdated(title="Renamed")]

    def test_the_policy_refunds_a_deleted_task_with_a_fee_and_no_refund(self) -> None:
        deleted = tasks.fold([self.CREATED, tasks.TaskDeleted()])
        assert tasks.refund_on_delete(deleted, lambda: REFUND) == tasks.RequestTaskRefund(refund_id=REFUND)
        free = tasks.fold([tasks.TaskCreated(owner_id=OWNER, title="Free", fee=None), tasks.TaskDeleted()])
        assert tasks.refund_on_delete(free, lambda: REFUND) is None
        refunded = tasks.fold([self.CREATED, tasks.TaskRefundRequested(refund_id=REFUND), tasks.TaskDeleted()])
        assert tasks.refund_on_delete(refunded, lambda: REFUND) is None
        live = tasks.fold([self.CREATED])
        assert tasks.refund_on_delete(live, lambda: REFUND) is None

    def test_a_deleted_task_still_refuses_everything_else(self) -> None:
        deleted = tasks.fold([self.CREATED, tasks.TaskDeleted()])
        with pytest.raises(DomainError):
            tasks.decide(tasks.UpdateTask(title="x"), deleted)

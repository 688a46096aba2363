"""The Refund aggregate as a decider (`decide`, `evolve`, `INITIAL`, `fold`), and its retry schedule."""

import enum
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from domain.deciders import fold_with
from domain.errors import AttemptNotAwaited, RefundAlreadyRequested, RefundNotFailed, RefundNotFound

STREAM_TYPE = "refund"


class RefundStatus(enum.StrEnum):
    REQUESTED = "REQUESTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class RefundRequested(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    task_id: UUID
    owner_id: UUID
    amount: int
    currency: str


class RefundAttemptFailed(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """Attempt `attempt` failed; `retry_in_seconds` is the wait before the next one (None: no next one)."""

    attempt: int
    error: str
    transient: bool
    retry_in_seconds: float | None


class RefundSucceeded(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    attempt: int


class RefundFailed(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """Given up: the refund is a dead letter until an operator retries (or dismisses) it."""

    attempts: int
    error: str


class RefundRetried(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """A dead letter sent back: a new series of attempts starts with `attempt`."""

    attempt: int


class RefundDismissed(msgspec.Struct, frozen=True, rename="camel"):
    """A dead letter purged from the queue: it stays FAILED and is no longer listed."""


RefundEvent = RefundRequested | RefundAttemptFailed | RefundSucceeded | RefundFailed | RefundRetried | RefundDismissed


class RetryPolicy(msgspec.Struct, frozen=True):
    """Attempt n+1 of a series waits about base x 2^(n-1) seconds after attempt n fails, capped, with jitter."""

    base_seconds: float
    max_seconds: float
    max_attempts: int
    jitter: float = 0.25

    def delay(self, series_attempt: int, spread: float) -> float:
        """The wait after failed attempt `series_attempt` (from 1); `spread` in [-1, 1] picks the jitter.

        At the cap the jitter only shortens the wait, so refunds that reach it still spread out, never past it."""
        nominal = min(self.max_seconds, self.base_seconds * 2.0 ** (series_attempt - 1))
        spread = max(-1.0, min(1.0, spread))
        if nominal * (1 + self.jitter * spread) > self.max_seconds:
            spread = -abs(spread)
        return nominal * (1 + self.jitter * spread)


class RequestRefund(msgspec.Struct, frozen=True):
    task_id: UUID
    owner_id: UUID
    amount: int
    currency: str


class RecordPayment(msgspec.Struct, frozen=True):
    attempt: int


class RecordFailure(msgspec.Struct, frozen=True):
    attempt: int
    error: str
    transient: bool
    policy: RetryPolicy
    spread: float  # in [-1, 1]: where in the jitter band the next delay falls (randomness comes from outside)


class RetryRefund(msgspec.Struct, frozen=True):
    pass


class DismissRefund(msgspec.Struct, frozen=True):
    pass


RefundCommand = RequestRefund | RecordPayment | RecordFailure | RetryRefund | DismissRefund


class Refund(msgspec.Struct, frozen=True):
    """The state a decision needs; `requested` is False until RefundRequested.

    Attempts are numbered from 1 over the refund's whole life; a series is the run of attempts since the request
    (or since a dead letter was retried): the backoff and the attempt limit count within it."""

    requested: bool = False
    task_id: UUID | None = None
    owner_id: UUID | None = None
    amount: int = 0
    currency: str = ""
    status: RefundStatus = RefundStatus.REQUESTED
    attempts: int = 0  # made so far, over every series
    series_start: int = 1  # the number of the current series' first attempt
    last_error: str | None = None
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    dismissed: bool = False

    @property
    def awaiting(self) -> int | None:
        """The attempt whose outcome may be recorded next (None once paid or failed)."""
        return self.attempts + 1 if self.requested and self.status is RefundStatus.REQUESTED else None

    @property
    def is_dead_letter(self) -> bool:
        return self.status is RefundStatus.FAILED and not self.dismissed


INITIAL = Refund()


def decide(command: RefundCommand, state: Refund) -> list[RefundEvent]:
    """Decide which events a command causes, or raise the domain error that forbids it. An outcome is recorded
    once: one for an attempt not awaited is refused, so a job delivered twice records nothing the second time."""
    if isinstance(command, RequestRefund):
        if state.requested:
            raise RefundAlreadyRequested()
        return [RefundRequested(**msgspec.structs.asdict(command))]
    if not state.requested:
        raise RefundNotFound()
    if isinstance(command, RecordPayment | RecordFailure):
        if command.attempt != state.awaiting:
            raise AttemptNotAwaited()
        if isinstance(command, RecordPayment):
            return [RefundSucceeded(attempt=command.attempt)]
        return _decide_failure(command, state)
    if state.status is not RefundStatus.FAILED or (isinstance(command, DismissRefund) and state.dismissed):
        raise RefundNotFailed()
    if isinstance(command, RetryRefund):
        return [RefundRetried(attempt=state.attempts + 1)]
    return [RefundDismissed()]


def _decide_failure(command: RecordFailure, state: Refund) -> list[RefundEvent]:
    series_attempt = command.attempt - state.series_start + 1
    if command.transient and series_attempt < command.policy.max_attempts:
        delay = command.policy.delay(series_attempt, command.spread)
        return [
            RefundAttemptFailed(attempt=command.attempt, error=command.error, transient=True, retry_in_seconds=delay)
        ]
    return [
        RefundAttemptFailed(
            attempt=command.attempt, error=command.error, transient=command.transient, retry_in_seconds=None
        ),
        RefundFailed(attempts=command.attempt, error=command.error),
    ]


def evolve(state: Refund, event: RefundEvent, at: datetime | None = None) -> Refund:
    """Fold one event (recorded at `at`) into the state."""
    replace = msgspec.structs.replace
    if isinstance(event, RefundRequested):
        return Refund(requested=True, requested_at=at, **msgspec.structs.asdict(event))
    if isinstance(event, RefundAttemptFailed):
        return replace(state, attempts=event.attempt, last_error=event.error)
    if isinstance(event, RefundSucceeded):
        return replace(state, attempts=event.attempt, status=RefundStatus.SUCCEEDED, completed_at=at)
    if isinstance(event, RefundFailed):
        return replace(state, status=RefundStatus.FAILED, completed_at=at, last_error=event.error)
    if isinstance(event, RefundRetried):
        return replace(
            state, status=RefundStatus.REQUESTED, series_start=event.attempt, completed_at=None, dismissed=False
        )
    return replace(state, dismissed=True)


def fold(events: Iterable[RefundEvent], state: Refund = INITIAL, at: datetime | None = None) -> Refund:
    """The state after all of `events` (recorded at `at`)."""
    return fold_with(evolve, events, state, at)

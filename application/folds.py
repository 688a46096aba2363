"""States and views of one stream, folded from its records (live reads, time travel, the fakes alike)."""

from collections.abc import Sequence
from typing import TypeVar

from application.projections.registry import refund_row, task_row
from application.projections.tables import RefundRow, TaskRow
from application.records import RecordedEvent
from application.streams import fold_of_type
from application.views import RefundView, TaskView
from domain import refunds, tasks, users
from domain.values import Money

S = TypeVar("S")


def _state(records: Sequence[RecordedEvent], stream_type: str, initial: S) -> S:
    stream = fold_of_type(records, stream_type)
    state: S = stream.state if stream is not None else initial
    return state


def task_state(records: Sequence[RecordedEvent]) -> tasks.Task:
    """The Task decider's state after `records`; a stream that is not a task's is no task at all."""
    return _state(records, tasks.STREAM_TYPE, tasks.INITIAL)


def refund_state(records: Sequence[RecordedEvent]) -> refunds.Refund:
    """The Refund decider's state after `records`; a stream that is not a refund's is no refund at all."""
    return _state(records, refunds.STREAM_TYPE, refunds.INITIAL)


def user_state(records: Sequence[RecordedEvent]) -> users.User:
    """The User decider's state after `records`; a stream that is not a user's is no user at all."""
    return _state(records, users.STREAM_TYPE, users.INITIAL)


def task_view(records: Sequence[RecordedEvent]) -> TaskView | None:
    """The task after `records` (one stream, in version order); None if it does not exist or is deleted."""
    stream = fold_of_type(records, tasks.STREAM_TYPE)
    row = task_row(stream) if stream is not None else None
    return view_of_task(row) if row is not None else None


def view_of_task(row: TaskRow, refund: RefundView | None = None) -> TaskView:
    """The task as clients see it, from its tasks_view row."""
    fee = Money(amount=row.fee_amount, currency=row.fee_currency) if row.fee_amount and row.fee_currency else None
    return TaskView(
        id=row.id,
        title=row.title,
        description=row.description,
        status=row.status,
        priority=row.priority,
        due_date=row.due_date,
        overdue=row.overdue,
        owner_id=row.owner_id,
        fee=fee,
        refund=refund,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def refund_view(records: Sequence[RecordedEvent]) -> RefundView | None:
    """The refund after `records` (one stream, in version order); None if there is no such refund."""
    stream = fold_of_type(records, refunds.STREAM_TYPE)
    row = refund_row(stream) if stream is not None else None
    return view_of_refund(row) if row is not None else None


def view_of_refund(row: RefundRow) -> RefundView:
    return RefundView(
        id=row.id,
        task_id=row.task_id,
        amount=row.amount,
        currency=row.currency,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        requested_at=row.requested_at,
        completed_at=row.completed_at,
    )

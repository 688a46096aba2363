"""Folding recorded events into states and views (live reads and time travel alike)."""

from collections.abc import Sequence

from application.records import RecordedEvent
from application.views import RefundView, TaskView
from domain import refunds, tasks, users


def task_view(records: Sequence[RecordedEvent]) -> TaskView | None:
    """The task after `records` (one stream, in version order); None if it does not exist or is deleted."""
    state = task_state(records)
    if not state.is_live or state.owner_id is None:
        return None
    return TaskView(
        id=records[0].stream_id,
        title=state.title,
        description=state.description,
        status=state.status,
        priority=state.priority,
        due_date=state.due_date,
        owner_id=state.owner_id,
        fee=state.fee,
        refund=None,
        version=records[-1].version,
        created_at=records[0].recorded_at,
        updated_at=records[-1].recorded_at,
    )


def task_state(records: Sequence[RecordedEvent]) -> tasks.Task:
    """The decider's state after `records`; a stream that is not a task's (ids are guessable) is no task at all."""
    events = [record.event() for record in records if record.stream_type == tasks.STREAM_TYPE]
    if len(events) != len(records):
        return tasks.INITIAL
    return tasks.fold([e for e in events if isinstance(e, tasks.TaskEvent)])


def refund_state(records: Sequence[RecordedEvent]) -> refunds.Refund:
    """The Refund decider's state after `records`; a stream that is not a refund's is no refund at all."""
    if any(record.stream_type != refunds.STREAM_TYPE for record in records):
        return refunds.INITIAL
    pairs = [
        (event, record.recorded_at) for record in records if isinstance(event := record.event(), refunds.RefundEvent)
    ]
    return refunds.fold(pairs)


def refund_view(records: Sequence[RecordedEvent]) -> RefundView | None:
    """The refund after `records` (one stream, in version order); None if there is no such refund."""
    state = refund_state(records)
    if not state.requested or state.task_id is None or state.requested_at is None:
        return None
    return RefundView(
        id=records[0].stream_id,
        task_id=state.task_id,
        amount=state.amount,
        currency=state.currency,
        status=state.status,
        attempts=state.attempts,
        last_error=state.last_error,
        requested_at=state.requested_at,
        completed_at=state.completed_at,
    )


def user_state(records: Sequence[RecordedEvent]) -> users.User:
    """The User decider's state after `records`; a stream that is not a user's is no user at all."""
    events = [record.event() for record in records if record.stream_type == users.STREAM_TYPE]
    if len(events) != len(records):
        return users.INITIAL
    state = users.INITIAL
    for event in events:
        if isinstance(event, users.UserRegistered | users.UserRoleChanged):
            state = users.evolve(state, event)
    return state

"""What the policies cause: commands decided in the same unit of work as the events that cause them."""

from collections.abc import Callable, Sequence
from uuid import UUID

from application.records import StreamAppend
from domain import refunds, tasks


def refund_request(task_id: UUID, state: tasks.Task, refund_id: UUID) -> tuple[list[tasks.TaskEvent], StreamAppend]:
    """A refund of the task's fee: the task's record of it, and the new refund stream (domain errors if refused)."""
    task_events = tasks.decide(tasks.RequestTaskRefund(refund_id=refund_id), state)
    assert state.fee is not None, "the decider accepts a task with a fee only"
    assert state.owner_id is not None, "a created task has an owner"
    request = refunds.RequestRefund(
        task_id=task_id, owner_id=state.owner_id, amount=state.fee.amount, currency=state.fee.currency
    )
    return task_events, StreamAppend(refund_id, refunds.STREAM_TYPE, 0, list(refunds.decide(request, refunds.INITIAL)))


def task_appends(
    task_id: UUID, state: tasks.Task, version: int, events: Sequence[tasks.TaskEvent], new_id: Callable[[], UUID]
) -> list[StreamAppend]:
    """The task's `events`, and what the policies cause with them: a deleted task with a fee is refunded."""
    task_events = list(events)
    caused: list[StreamAppend] = []
    after = tasks.fold(task_events, state)
    command = tasks.refund_on_delete(after, new_id)
    if command is not None:
        more, refund = refund_request(task_id, after, command.refund_id)
        task_events += more
        caused.append(refund)
    return [StreamAppend(task_id, tasks.STREAM_TYPE, version, list(task_events)), *caused]

"""Folding a task's recorded events into the view clients see (live reads and time travel alike)."""

from collections.abc import Sequence

from application.records import RecordedEvent
from application.views import TaskView
from domain import tasks


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
    """The decider's state after `records`."""
    events: list[tasks.TaskEvent] = []
    for record in records:
        event = record.event()
        if not isinstance(event, tasks.TaskCreated | tasks.TaskUpdated | tasks.TaskCompleted | tasks.TaskDeleted):
            raise TypeError(f"{record.type} is not a task event")
        events.append(event)
    return tasks.fold(events)

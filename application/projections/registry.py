"""The registry: every read model and log follower of TaskFlow, each defined here once."""

from collections.abc import Iterable
from datetime import UTC
from uuid import UUID

from application.projections.kinds import EVERY_STREAM, Mode, Projection, Reaction, Rows, Tally, Totals
from application.projections.tables import ActivityCounts, RefundRow, TaskCounts, TaskDeadline, TaskRow, UserRow
from application.streams import Stream
from domain import refunds, tasks, users
from domain.events import DomainEvent
from domain.values import Priority, TaskStatus

TASKS = frozenset({tasks.STREAM_TYPE})
COUNTER_STRIPES = 16


def task_row(stream: Stream[tasks.Task]) -> TaskRow | None:
    """A live task's row; a deleted one has none."""
    task = stream.state
    if not task.is_live or task.owner_id is None:
        return None
    fee = task.fee
    return TaskRow(
        id=stream.id,
        owner_id=task.owner_id,
        title=task.title,
        description=task.description,
        status=task.status,
        priority=task.priority,
        due_date=task.due_date,
        overdue=task.is_overdue,
        fee_amount=fee.amount if fee else None,
        fee_currency=fee.currency if fee else None,
        version=stream.version,
        created_at=stream.created_at,
        updated_at=stream.updated_at,
    )


def counter_stripe(task_id: UUID) -> int:
    """Which of its owner's counter rows a task counts in (the last byte of its id, as the SQL function
    task_counter_stripe of migration 0010 says)."""
    return task_id.bytes[15] % COUNTER_STRIPES


def task_counts(stream: Stream[tasks.Task]) -> TaskCounts | None:
    """What a live task adds to its owner's counts."""
    task = stream.state
    if not task.is_live or task.owner_id is None:
        return None
    return TaskCounts(
        owner_id=task.owner_id,
        stripe=counter_stripe(stream.id),
        total=1,
        pending=int(task.status is TaskStatus.PENDING),
        in_progress=int(task.status is TaskStatus.IN_PROGRESS),
        completed=int(task.status is TaskStatus.COMPLETED),
        high_priority=int(task.priority is Priority.HIGH),
        overdue=int(task.is_overdue),
    )


def task_deadline(stream: Stream[tasks.Task]) -> TaskDeadline | None:
    """A live, open task with a due date it is not yet overdue for: the overdue check finds it here by due date."""
    task = stream.state
    if not task.is_live or task.status is TaskStatus.COMPLETED or task.due_date is None or task.is_overdue:
        return None
    return TaskDeadline(id=stream.id, due_date=task.due_date)


def user_row(stream: Stream[users.User]) -> UserRow | None:
    user = stream.state
    if not user.registered:
        return None
    return UserRow(
        id=stream.id,
        email=user.email,
        name=user.name,
        role=user.role,
        version=stream.version,
        created_at=stream.created_at,
        updated_at=stream.updated_at,
        role_since=user.role_since,
    )


def refund_row(stream: Stream[refunds.Refund]) -> RefundRow | None:
    refund = stream.state
    if not refund.requested or refund.task_id is None or refund.owner_id is None or refund.requested_at is None:
        return None
    return RefundRow(
        id=stream.id,
        task_id=refund.task_id,
        owner_id=refund.owner_id,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        attempts=refund.attempts,
        last_error=refund.last_error,
        requested_at=refund.requested_at,
        completed_at=refund.completed_at,
        dismissed=refund.dismissed,
        version=stream.version,
        updated_at=stream.updated_at,
    )


def task_activity(
    before: Stream[tasks.Task] | None, after: Stream[tasks.Task], event: DomainEvent
) -> Iterable[ActivityCounts]:
    """Per owner and UTC day: a task created, completed or deleted (created completed: both)."""
    owner = after.state.owner_id
    if owner is None:
        return ()
    day = after.updated_at.astimezone(UTC).date()
    if isinstance(event, tasks.TaskCreated):
        return (ActivityCounts(owner, day, 1, int(event.status is TaskStatus.COMPLETED), 0),)
    if isinstance(event, tasks.TaskCompleted):
        return (ActivityCounts(owner, day, 0, 1, 0),)
    if isinstance(event, tasks.TaskDeleted):
        return (ActivityCounts(owner, day, 0, 0, 1),)
    return ()


TASKS_VIEW = Rows(
    name="tasks_view",
    stream_types=TASKS,
    mode=Mode.INLINE,
    table=TaskRow,
    key=("id",),
    row=task_row,
    versioned=True,
)
TASK_COUNTERS = Totals(
    name="task_counters",
    stream_types=TASKS,
    mode=Mode.INLINE,
    table=TaskCounts,
    key=("owner_id", "stripe"),
    counts=task_counts,
)
# Kept inline, so a task is watched from the commit that gives it a due date, and stops being watched in the
# transaction that marks it overdue (the check takes its rows FOR UPDATE SKIP LOCKED).
TASK_DEADLINES = Rows(
    name="task_deadlines",
    stream_types=TASKS,
    mode=Mode.INLINE,
    table=TaskDeadline,
    key=("id",),
    row=task_deadline,
)
USERS_VIEW = Rows(
    name="users_view",
    stream_types=frozenset({users.STREAM_TYPE}),
    mode=Mode.INLINE,
    table=UserRow,
    key=("id",),
    row=user_row,
)
REFUNDS_VIEW = Rows(
    name="refunds_view",
    stream_types=frozenset({refunds.STREAM_TYPE}),
    mode=Mode.INLINE,
    table=RefundRow,
    key=("id",),
    row=refund_row,
)
TASK_ACTIVITY = Tally(
    name="task_activity",
    stream_types=TASKS,
    mode=Mode.FOLLOWER,
    process="projector",
    table=ActivityCounts,
    key=("owner_id", "day"),
    counts=task_activity,
)
# A refund shows on its task, so refund events make the task's cached views stale too.
CACHE_BACKSTOP = Reaction(
    name="cache_backstop",
    stream_types=frozenset({tasks.STREAM_TYPE, refunds.STREAM_TYPE}),
    mode=Mode.FOLLOWER,
    process="projector",
)
REFUND_DISPATCHER = Reaction(
    name="refund_dispatcher",
    stream_types=frozenset({refunds.STREAM_TYPE}),
    mode=Mode.FOLLOWER,
    process="scheduler",
    needs_state=False,
)

# The log's Merkle tree (RFC 6962), for auditors: every event, whatever its stream, in commit order.
AUDIT_TREE = Reaction(
    name="audit_tree",
    stream_types=EVERY_STREAM,
    mode=Mode.FOLLOWER,
    process="projector",
    needs_state=False,
)

# The inline append, the followers, the rebuild, `taskflow projections`, GET /admin/projections and the test fakes
# all take their projections from here; nothing else derives a read model from events.
PROJECTIONS: tuple[Projection, ...] = (
    TASKS_VIEW,
    TASK_COUNTERS,
    TASK_DEADLINES,
    USERS_VIEW,
    REFUNDS_VIEW,
    TASK_ACTIVITY,
    CACHE_BACKSTOP,
    REFUND_DISPATCHER,
    AUDIT_TREE,
)
BY_NAME: dict[str, Projection] = {projection.name: projection for projection in PROJECTIONS}
INLINE: tuple[Projection, ...] = tuple(p for p in PROJECTIONS if p.mode is Mode.INLINE)
FOLLOWER_NAMES: tuple[str, ...] = tuple(p.name for p in PROJECTIONS if p.mode is Mode.FOLLOWER)


def followers(process: str) -> list[Projection]:
    """The followers that `process` (projector, scheduler) runs."""
    return [p for p in PROJECTIONS if p.mode is Mode.FOLLOWER and p.process == process]


def rebuildable() -> list[str]:
    """The projections that keep a table, which a rebuild can make anew from the log."""
    return [p.name for p in PROJECTIONS if not isinstance(p, Reaction)]


def stream_types_read(projections: Iterable[Projection]) -> frozenset[str]:
    return frozenset().union(*(p.stream_types for p in projections))

"""The Task aggregate as a decider (`decide`, `evolve`, `INITIAL`, `fold`), and the policy a deletion causes."""

from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from domain.deciders import fold_with
from domain.errors import FeeLocked, InvalidTask, RefundAlreadyRequested, TaskAlreadyExists, TaskHasNoFee, TaskNotFound
from domain.values import (
    DESCRIPTION_MAX,
    EARLIEST,
    LATEST,
    TITLE_MAX,
    Money,
    Priority,
    TaskStatus,
    has_control_characters,
)

STREAM_TYPE = "task"


class TaskCreated(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """Schema v2: `fee` is always stated (v1, from before fees, has none and is upcast in domain.events)."""

    owner_id: UUID
    title: str
    description: str | None = None
    status: TaskStatus = TaskStatus.PENDING
    priority: Priority = Priority.MEDIUM
    due_date: datetime | None = None
    fee: Money | None


class TaskUpdated(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """Carries only the fields that changed; the others stay UNSET."""

    title: str | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    status: TaskStatus | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    due_date: datetime | None | UnsetType = UNSET
    fee: Money | None | UnsetType = UNSET


class TaskCompleted(msgspec.Struct, frozen=True, rename="camel"):
    pass


class TaskDeleted(msgspec.Struct, frozen=True, rename="camel"):
    pass


class TaskRefundRequested(msgspec.Struct, frozen=True, rename="camel"):
    """The task's fee is being refunded by the refund stream `refund_id` (the task stream keeps it to one)."""

    refund_id: UUID


class TaskBecameOverdue(msgspec.Struct, frozen=True, rename="camel"):
    """The task, live and not completed, passed its due date `due_date` (the scheduler's overdue check decides it,
    once per due date).

    The task stays overdue until it is completed, or its due date moves later than `due_date` or is cleared: the
    fold then forgets `due_date`, and a later due date that passes in turn is a new TaskBecameOverdue. A due date
    moved earlier has passed as well, so the task stays overdue for it with no new event. Completing ends it for
    good: a task reopened after its due date becomes overdue again with a new event, when the next check runs.
    """

    due_date: datetime


TaskEvent = TaskCreated | TaskUpdated | TaskCompleted | TaskDeleted | TaskRefundRequested | TaskBecameOverdue


class CreateTask(msgspec.Struct, frozen=True):
    owner_id: UUID
    title: str
    description: str | None = None
    status: TaskStatus = TaskStatus.PENDING
    priority: Priority = Priority.MEDIUM
    due_date: datetime | None = None
    fee: Money | None = None


class UpdateTask(msgspec.Struct, frozen=True):
    title: str | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    status: TaskStatus | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    due_date: datetime | None | UnsetType = UNSET
    fee: Money | None | UnsetType = UNSET


class CompleteTask(msgspec.Struct, frozen=True):
    pass


class DeleteTask(msgspec.Struct, frozen=True):
    pass


class RequestTaskRefund(msgspec.Struct, frozen=True):
    refund_id: UUID


class MarkOverdue(msgspec.Struct, frozen=True):
    """Time has come to `now` (the domain has no clock of its own): a task past its due date becomes overdue."""

    now: datetime


TaskCommand = CreateTask | UpdateTask | CompleteTask | DeleteTask | RequestTaskRefund | MarkOverdue


class Task(msgspec.Struct, frozen=True):
    """The state a decision needs; `created` is False until TaskCreated."""

    created: bool = False
    deleted: bool = False
    owner_id: UUID | None = None
    title: str = ""
    description: str | None = None
    status: TaskStatus = TaskStatus.PENDING
    priority: Priority = Priority.MEDIUM
    due_date: datetime | None = None
    fee: Money | None = None
    refund_id: UUID | None = None
    # The due date the task became overdue for (TaskBecameOverdue); None once it is completed or due later.
    overdue_for: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.created and not self.deleted

    @property
    def is_overdue(self) -> bool:
        return self.is_live and self.overdue_for is not None


INITIAL = Task()

_UPDATABLE = ("title", "description", "status", "priority", "due_date", "fee")


def _check_fields(command: CreateTask | UpdateTask) -> None:
    """The rules every title, description and due date keeps, whoever sends them."""
    if isinstance(command.title, str) and (
        not command.title
        or command.title != command.title.strip()
        or len(command.title) > TITLE_MAX
        or has_control_characters(command.title)
    ):
        raise InvalidTask("title", f"must be 1-{TITLE_MAX} characters, trimmed, with no control characters")
    if isinstance(command.description, str) and (
        len(command.description) > DESCRIPTION_MAX or has_control_characters(command.description, line_breaks=True)
    ):
        raise InvalidTask("description", f"must be at most {DESCRIPTION_MAX} characters, with no control characters")
    if isinstance(command.due_date, datetime) and (
        command.due_date.tzinfo is None or not EARLIEST <= command.due_date <= LATEST
    ):
        raise InvalidTask("dueDate", "must be a timestamp with an offset, between 1970 and 9999")


def decide(command: TaskCommand, state: Task) -> list[TaskEvent]:
    """Decide which events a command causes, or raise the domain error that forbids it."""
    if isinstance(command, CreateTask):
        if state.created:
            raise TaskAlreadyExists()
        _check_fields(command)
        return [TaskCreated(**msgspec.structs.asdict(command))]
    if isinstance(command, RequestTaskRefund):
        return _decide_refund(command, state)
    if not state.is_live:
        raise TaskNotFound()
    if isinstance(command, UpdateTask):
        _check_fields(command)
        return _decide_update(command, state)
    if isinstance(command, CompleteTask):
        return [] if state.status is TaskStatus.COMPLETED else [TaskCompleted()]
    if isinstance(command, MarkOverdue):
        return _decide_overdue(command, state)
    return [TaskDeleted()]


def _decide_overdue(command: MarkOverdue, state: Task) -> list[TaskEvent]:
    """Overdue once per due date: an open task whose due date is before `now`, not overdue for it already."""
    due = state.due_date
    if state.status is TaskStatus.COMPLETED or due is None or due >= command.now or state.overdue_for is not None:
        return []
    return [TaskBecameOverdue(due_date=due)]


def _decide_refund(command: RequestTaskRefund, state: Task) -> list[TaskEvent]:
    # A deleted task may still be refunded: deleting one with a fee is what requests its refund.
    if not state.created:
        raise TaskNotFound()
    if state.fee is None:
        raise TaskHasNoFee()
    if state.refund_id is not None:
        raise RefundAlreadyRequested()
    return [TaskRefundRequested(refund_id=command.refund_id)]


def _decide_update(command: UpdateTask, state: Task) -> list[TaskEvent]:
    changed = {
        name: value
        for name in _UPDATABLE
        if (value := getattr(command, name)) is not UNSET and value != getattr(state, name)
    }
    if "fee" in changed and state.refund_id is not None:
        raise FeeLocked()
    # A change of status to COMPLETED is always its own event, so "completed" has one meaning in the log.
    completes = changed.get("status") is TaskStatus.COMPLETED
    if completes:
        del changed["status"]
    events: list[TaskEvent] = [TaskUpdated(**changed)] if changed else []
    if completes:
        events.append(TaskCompleted())
    return events


def evolve(state: Task, event: TaskEvent, at: datetime | None = None) -> Task:
    """Fold one event into the state (a task's state keeps no time: `at` is the deciders' common shape)."""
    if isinstance(event, TaskCreated):
        return Task(created=True, **msgspec.structs.asdict(event))
    if isinstance(event, TaskUpdated):
        changes = {name: value for name in _UPDATABLE if (value := getattr(event, name)) is not UNSET}
        if "due_date" in changes and not _still_passed(changes["due_date"], state.overdue_for):
            changes["overdue_for"] = None
        return msgspec.structs.replace(state, **changes)
    if isinstance(event, TaskCompleted):
        return msgspec.structs.replace(state, status=TaskStatus.COMPLETED, overdue_for=None)
    if isinstance(event, TaskRefundRequested):
        return msgspec.structs.replace(state, refund_id=event.refund_id)
    if isinstance(event, TaskBecameOverdue):
        return msgspec.structs.replace(state, overdue_for=event.due_date)
    return msgspec.structs.replace(state, deleted=True)


def _still_passed(due_date: datetime | None, passed: datetime | None) -> bool:
    """Whether a task overdue for `passed` is still overdue with `due_date`: only if that date is no later."""
    return passed is not None and due_date is not None and due_date <= passed


def refund_on_delete(state: Task, new_refund_id: Callable[[], UUID]) -> RequestTaskRefund | None:
    """The policy: a task deleted with a fee and no refund has its fee refunded (decided in the same transaction)."""
    if state.deleted and state.fee is not None and state.refund_id is None:
        return RequestTaskRefund(refund_id=new_refund_id())
    return None


def fold(events: Iterable[TaskEvent], state: Task = INITIAL, at: datetime | None = None) -> Task:
    """The state after all of `events` (recorded at `at`)."""
    return fold_with(evolve, events, state, at)

"""The Task decider, as given events / when command / then events, and its laws under random command sequences."""

from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar
from uuid import UUID

import msgspec
import pytest
from hypothesis import given as for_all
from hypothesis import strategies as st
from msgspec import UNSET, UnsetType

from domain import tasks
from domain.errors import DomainError, TaskAlreadyExists, TaskNotFound
from domain.events import from_data, to_data, type_name
from domain.values import Money, Priority, TaskStatus

OWNER = UUID("00000000-0000-4000-8000-000000000001")
DUE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FEE = Money(amount=500, currency="EUR")

T = TypeVar("T")


@dataclass(frozen=True)
class Decision:
    state: tasks.Task
    command: tasks.TaskCommand

    def then(self, *expected: tasks.TaskEvent) -> None:
        assert tasks.decide(self.command, self.state) == list(expected)

    def raises(self, error: type[DomainError]) -> None:
        with pytest.raises(error):
            tasks.decide(self.command, self.state)


@dataclass(frozen=True)
class History:
    events: tuple[tasks.TaskEvent, ...]

    def when(self, command: tasks.TaskCommand) -> Decision:
        return Decision(tasks.fold(list(self.events)), command)


def given(*events: tasks.TaskEvent) -> History:
    return History(events)


CREATED = tasks.TaskCreated(owner_id=OWNER, title="Write tests", description="unit", due_date=DUE, fee=FEE)
COMPLETED = tasks.TaskCompleted()
DELETED = tasks.TaskDeleted()


class TestCreate:
    def test_a_new_task_is_created_with_every_field(self) -> None:
        command = tasks.CreateTask(
            owner_id=OWNER,
            title="Write tests",
            description="unit",
            status=TaskStatus.IN_PROGRESS,
            priority=Priority.HIGH,
            due_date=DUE,
            fee=FEE,
        )
        given().when(command).then(
            tasks.TaskCreated(
                owner_id=OWNER,
                title="Write tests",
                description="unit",
                status=TaskStatus.IN_PROGRESS,
                priority=Priority.HIGH,
                due_date=DUE,
                fee=FEE,
            )
        )

    def test_defaults_are_pending_and_medium(self) -> None:
        given().when(tasks.CreateTask(owner_id=OWNER, title="t")).then(
            tasks.TaskCreated(owner_id=OWNER, title="t", status=TaskStatus.PENDING, priority=Priority.MEDIUM, fee=None)
        )

    def test_the_created_state_is_live(self) -> None:
        state = tasks.fold([CREATED])
        assert state.is_live
        assert (state.owner_id, state.title, state.due_date, state.fee) == (OWNER, "Write tests", DUE, FEE)


class TestCreateTwice:
    def test_a_created_task_cannot_be_created_again(self) -> None:
        given(CREATED).when(tasks.CreateTask(owner_id=OWNER, title="again")).raises(TaskAlreadyExists)

    def test_a_deleted_task_cannot_be_created_again(self) -> None:
        given(CREATED, DELETED).when(tasks.CreateTask(owner_id=OWNER, title="again")).raises(TaskAlreadyExists)


class TestUpdate:
    def test_only_the_changed_fields_are_carried(self) -> None:
        command = tasks.UpdateTask(title="Write more tests", description="unit", priority=Priority.HIGH)
        given(CREATED).when(command).then(tasks.TaskUpdated(title="Write more tests", priority=Priority.HIGH))

    def test_clearing_an_optional_field_is_a_change_to_none(self) -> None:
        command = tasks.UpdateTask(description=None, due_date=None, fee=None)
        given(CREATED).when(command).then(tasks.TaskUpdated(description=None, due_date=None, fee=None))

    def test_a_new_fee_and_due_date_are_carried(self) -> None:
        fee, due = Money(amount=900, currency="USD"), DUE + timedelta(days=1)
        given(CREATED).when(tasks.UpdateTask(fee=fee, due_date=due)).then(tasks.TaskUpdated(due_date=due, fee=fee))

    def test_a_status_change_short_of_completion_is_an_update(self) -> None:
        given(CREATED).when(tasks.UpdateTask(status=TaskStatus.IN_PROGRESS)).then(
            tasks.TaskUpdated(status=TaskStatus.IN_PROGRESS)
        )

    def test_a_completed_task_can_be_reopened(self) -> None:
        given(CREATED, COMPLETED).when(tasks.UpdateTask(status=TaskStatus.PENDING)).then(
            tasks.TaskUpdated(status=TaskStatus.PENDING)
        )

    def test_the_update_is_folded_into_the_state(self) -> None:
        state = tasks.fold([CREATED, tasks.TaskUpdated(title="New", fee=None)])
        assert (state.title, state.fee, state.description, state.due_date) == ("New", None, "unit", DUE)


class TestUpdateThatChangesNothing:
    def test_the_same_values_yield_no_event(self) -> None:
        command = tasks.UpdateTask(
            title="Write tests",
            description="unit",
            status=TaskStatus.PENDING,
            priority=Priority.MEDIUM,
            due_date=DUE,
            fee=Money(amount=500, currency="EUR"),
        )
        given(CREATED).when(command).then()

    def test_an_empty_update_yields_no_event(self) -> None:
        given(CREATED).when(tasks.UpdateTask()).then()

    def test_the_same_instant_in_another_time_zone_is_no_change(self) -> None:
        same_instant = DUE.astimezone(timezone(timedelta(hours=2)))
        given(CREATED).when(tasks.UpdateTask(due_date=same_instant)).then()

    def test_completing_a_completed_task_through_update_yields_nothing(self) -> None:
        given(CREATED, COMPLETED).when(tasks.UpdateTask(status=TaskStatus.COMPLETED)).then()


class TestCompletionThroughUpdate:
    def test_status_completed_alone_yields_task_completed(self) -> None:
        given(CREATED).when(tasks.UpdateTask(status=TaskStatus.COMPLETED)).then(COMPLETED)

    def test_other_changed_fields_come_first_as_task_updated(self) -> None:
        command = tasks.UpdateTask(title="Done", priority=Priority.MEDIUM, status=TaskStatus.COMPLETED)
        given(CREATED).when(command).then(tasks.TaskUpdated(title="Done"), COMPLETED)

    def test_the_folded_state_is_completed(self) -> None:
        events = tasks.decide(tasks.UpdateTask(title="Done", status=TaskStatus.COMPLETED), tasks.fold([CREATED]))
        state = tasks.fold([CREATED, *events])
        assert (state.title, state.status) == ("Done", TaskStatus.COMPLETED)


class TestComplete:
    def test_an_open_task_is_completed(self) -> None:
        given(CREATED).when(tasks.CompleteTask()).then(COMPLETED)

    def test_an_in_progress_task_is_completed(self) -> None:
        given(CREATED, tasks.TaskUpdated(status=TaskStatus.IN_PROGRESS)).when(tasks.CompleteTask()).then(COMPLETED)

    def test_completing_a_completed_task_yields_nothing(self) -> None:
        given(CREATED, COMPLETED).when(tasks.CompleteTask()).then()

    def test_a_task_created_completed_yields_nothing(self) -> None:
        created_done = tasks.TaskCreated(owner_id=OWNER, title="t", status=TaskStatus.COMPLETED, fee=None)
        given(created_done).when(tasks.CompleteTask()).then()


class TestDelete:
    def test_a_live_task_is_deleted(self) -> None:
        given(CREATED).when(tasks.DeleteTask()).then(DELETED)

    def test_a_completed_task_is_deleted(self) -> None:
        given(CREATED, COMPLETED).when(tasks.DeleteTask()).then(DELETED)

    def test_the_deleted_state_is_not_live(self) -> None:
        state = tasks.fold([CREATED, DELETED])
        assert state.deleted
        assert not state.is_live


class TestDeletedTask:
    @pytest.mark.parametrize(
        "command",
        [tasks.UpdateTask(title="again"), tasks.UpdateTask(), tasks.CompleteTask(), tasks.DeleteTask()],
        ids=["update", "empty-update", "complete", "delete"],
    )
    def test_accepts_nothing_more(self, command: tasks.TaskCommand) -> None:
        given(CREATED, DELETED).when(command).raises(TaskNotFound)


AFTER_DUE = DUE + timedelta(seconds=1)
OVERDUE = tasks.TaskBecameOverdue(due_date=DUE)


class TestBecomingOverdue:
    def test_an_open_task_past_its_due_date_becomes_overdue_for_that_date(self) -> None:
        given(CREATED).when(tasks.MarkOverdue(now=AFTER_DUE)).then(OVERDUE)

    def test_an_in_progress_task_becomes_overdue_too(self) -> None:
        started = tasks.TaskUpdated(status=TaskStatus.IN_PROGRESS)
        given(CREATED, started).when(tasks.MarkOverdue(now=AFTER_DUE)).then(OVERDUE)

    def test_not_before_the_due_date_has_passed(self) -> None:
        given(CREATED).when(tasks.MarkOverdue(now=DUE)).then()
        given(CREATED).when(tasks.MarkOverdue(now=DUE - timedelta(days=1))).then()

    def test_a_task_without_a_due_date_never_is(self) -> None:
        given(CREATED, tasks.TaskUpdated(due_date=None)).when(tasks.MarkOverdue(now=AFTER_DUE)).then()

    def test_a_completed_task_never_is(self) -> None:
        given(CREATED, COMPLETED).when(tasks.MarkOverdue(now=AFTER_DUE)).then()

    def test_once_per_due_date(self) -> None:
        given(CREATED, OVERDUE).when(tasks.MarkOverdue(now=AFTER_DUE + timedelta(days=30))).then()

    def test_a_deleted_task_is_not_found(self) -> None:
        given(CREATED, DELETED).when(tasks.MarkOverdue(now=AFTER_DUE)).raises(TaskNotFound)

    def test_the_folded_state_is_overdue_for_the_date_it_passed(self) -> None:
        state = tasks.fold([CREATED, OVERDUE])
        assert (state.is_overdue, state.overdue_for) == (True, DUE)


class TestLeavingOverdue:
    def test_completing_ends_it(self) -> None:
        state = tasks.fold([CREATED, OVERDUE, COMPLETED])
        assert not state.is_overdue

    def test_a_task_reopened_after_its_due_date_becomes_overdue_again(self) -> None:
        reopened = tasks.TaskUpdated(status=TaskStatus.PENDING)
        given(CREATED, OVERDUE, COMPLETED, reopened).when(tasks.MarkOverdue(now=AFTER_DUE)).then(OVERDUE)

    def test_a_later_due_date_ends_it_until_that_date_passes(self) -> None:
        later = DUE + timedelta(days=2)
        history = given(CREATED, OVERDUE, tasks.TaskUpdated(due_date=later))
        assert not history.when(tasks.MarkOverdue(now=later)).state.is_overdue
        history.when(tasks.MarkOverdue(now=later)).then()
        history.when(tasks.MarkOverdue(now=later + timedelta(seconds=1))).then(tasks.TaskBecameOverdue(due_date=later))

    def test_clearing_the_due_date_ends_it(self) -> None:
        assert not tasks.fold([CREATED, OVERDUE, tasks.TaskUpdated(due_date=None)]).is_overdue

    def test_an_earlier_due_date_has_passed_too_and_it_stays_overdue(self) -> None:
        earlier = DUE - timedelta(days=2)
        history = given(CREATED, OVERDUE, tasks.TaskUpdated(due_date=earlier))
        assert history.when(tasks.MarkOverdue(now=AFTER_DUE)).state.is_overdue
        history.when(tasks.MarkOverdue(now=AFTER_DUE)).then()

    def test_moved_back_later_but_still_before_the_date_it_passed_it_stays_overdue(self) -> None:
        earlier, between = DUE - timedelta(days=2), DUE - timedelta(days=1)
        state = tasks.fold([CREATED, OVERDUE, tasks.TaskUpdated(due_date=earlier), tasks.TaskUpdated(due_date=between)])
        assert (state.is_overdue, state.overdue_for) == (True, DUE)

    def test_other_changes_leave_it_overdue(self) -> None:
        assert tasks.fold([CREATED, OVERDUE, tasks.TaskUpdated(title="Renamed", priority=Priority.HIGH)]).is_overdue

    def test_a_deleted_task_is_not_overdue(self) -> None:
        assert not tasks.fold([CREATED, OVERDUE, DELETED]).is_overdue


class TestTaskNeverCreated:
    @pytest.mark.parametrize(
        "command",
        [tasks.UpdateTask(title="x"), tasks.CompleteTask(), tasks.DeleteTask(), tasks.MarkOverdue(now=AFTER_DUE)],
        ids=["update", "complete", "delete", "mark-overdue"],
    )
    def test_is_not_found(self, command: tasks.TaskCommand) -> None:
        given().when(command).raises(TaskNotFound)


# Small value pools, so that random updates often repeat the current value (the no-change path).
titles = st.sampled_from(["a", "b", "Write tests"])
descriptions = st.sampled_from([None, "unit", "other"])
statuses = st.sampled_from(TaskStatus)
priorities = st.sampled_from(Priority)
due_dates = st.sampled_from([None, DUE, DUE + timedelta(days=3)])
fees = st.sampled_from([None, FEE, Money(amount=1, currency="USD")])


def unset_or(values: st.SearchStrategy[T]) -> st.SearchStrategy[T | UnsetType]:
    return st.one_of(st.just(UNSET), values)


creates = st.builds(
    tasks.CreateTask,
    owner_id=st.uuids(),
    title=titles,
    description=descriptions,
    status=statuses,
    priority=priorities,
    due_date=due_dates,
    fee=fees,
)
updates = st.builds(
    tasks.UpdateTask,
    title=unset_or(titles),
    description=unset_or(descriptions),
    status=unset_or(statuses),
    priority=unset_or(priorities),
    due_date=unset_or(due_dates),
    fee=unset_or(fees),
)
# The clock at a few moments around the due dates above.
overdue_checks = st.builds(tasks.MarkOverdue, now=st.sampled_from([DUE, AFTER_DUE, DUE + timedelta(days=5)]))
later_commands: st.SearchStrategy[tasks.TaskCommand] = st.one_of(
    updates, updates, updates, st.just(tasks.CompleteTask()), st.just(tasks.DeleteTask()), creates, overdue_checks
)
command_sequences = st.tuples(creates, st.lists(later_commands, max_size=15)).map(lambda t: [t[0], *t[1]])

_FIELDS = ("title", "description", "status", "priority", "due_date", "fee")


def refused(command: tasks.TaskCommand, state: tasks.Task) -> type[DomainError] | None:
    """The error the rules demand for `command` in `state`, or None when it is allowed."""
    if isinstance(command, tasks.CreateTask):
        return TaskAlreadyExists if state.created else None
    return None if state.is_live else TaskNotFound


class TestDeciderLaws:
    @for_all(command_sequences)
    def test_folding_every_decided_event_equals_evolving_step_by_step(self, commands: list[tasks.TaskCommand]) -> None:
        state, decided = tasks.INITIAL, []
        for command in commands:
            try:
                events = tasks.decide(command, state)
            except DomainError:
                continue
            for event in events:
                state = tasks.evolve(state, event)
            decided.extend(events)
        assert tasks.fold(decided) == state

    @for_all(command_sequences)
    def test_a_command_is_refused_exactly_when_the_rules_say(self, commands: list[tasks.TaskCommand]) -> None:
        state = tasks.INITIAL
        for command in commands:
            expected = refused(command, state)
            if expected is None:
                state = tasks.fold(tasks.decide(command, state), state)
            else:
                with pytest.raises(expected):
                    tasks.decide(command, state)

    @for_all(command_sequences)
    def test_a_deleted_task_stays_deleted(self, commands: list[tasks.TaskCommand]) -> None:
        state, was_deleted = tasks.INITIAL, False
        for command in commands:
            with suppress(DomainError):
                state = tasks.fold(tasks.decide(command, state), state)
            assert state.deleted or not was_deleted
            was_deleted = state.deleted

    @for_all(command_sequences)
    def test_task_updated_never_carries_an_unchanged_field(self, commands: list[tasks.TaskCommand]) -> None:
        state = tasks.INITIAL
        for command in commands:
            try:
                events = tasks.decide(command, state)
            except DomainError:
                continue
            for event in events:
                if isinstance(event, tasks.TaskUpdated):
                    carried = {name: getattr(event, name) for name in _FIELDS if getattr(event, name) is not UNSET}
                    assert carried, "an empty TaskUpdated"
                    assert all(value != getattr(state, name) for name, value in carried.items())
                    assert carried.get("status") is not TaskStatus.COMPLETED, "completion is its own event"
                state = tasks.evolve(state, event)

    @for_all(command_sequences)
    def test_an_update_leaves_the_task_as_the_command_asked(self, commands: list[tasks.TaskCommand]) -> None:
        state = tasks.INITIAL
        for command in commands:
            try:
                after = tasks.fold(tasks.decide(command, state), state)
            except DomainError:
                continue
            if isinstance(command, tasks.UpdateTask):
                for name in _FIELDS:
                    asked = getattr(command, name)
                    assert getattr(after, name) == (getattr(state, name) if asked is UNSET else asked)
            state = after

    @for_all(command_sequences)
    def test_overdue_once_per_due_date_and_only_while_open_and_past_it(self, commands: list[tasks.TaskCommand]) -> None:
        state = tasks.INITIAL
        for command in commands:
            try:
                events = tasks.decide(command, state)
            except DomainError:
                continue
            state = tasks.fold(events, state)
            if isinstance(command, tasks.MarkOverdue) and events:
                assert state.due_date is not None
                assert state.due_date < command.now
                assert events == [tasks.TaskBecameOverdue(due_date=state.due_date)]
                never = tasks.MarkOverdue(now=datetime.max.replace(tzinfo=UTC))
                assert tasks.decide(never, state) == [], "a second event for the same due date"
            if state.is_overdue:
                assert state.status is not TaskStatus.COMPLETED
                assert state.due_date is not None
                assert state.overdue_for is not None
                assert state.due_date <= state.overdue_for, "overdue only for a due date that has passed"

    @for_all(command_sequences)
    def test_every_decided_event_survives_the_log_round_trip(self, commands: list[tasks.TaskCommand]) -> None:
        state = tasks.INITIAL
        for command in commands:
            try:
                events = tasks.decide(command, state)
            except DomainError:
                continue
            for event in events:
                stored = msgspec.json.decode(msgspec.json.encode(to_data(event)))
                assert from_data(type_name(event), 1, stored) == event
            state = tasks.fold(events, state)

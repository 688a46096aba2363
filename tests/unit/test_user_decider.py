"""The User decider, as given events / when command / then events, and its laws under random command sequences."""

from dataclasses import dataclass

import msgspec
import pytest
from hypothesis import given as for_all
from hypothesis import strategies as st

from domain import users
from domain.errors import DomainError, UserAlreadyExists, UserNotFound
from domain.events import from_data, to_data, type_name
from domain.users import fold
from domain.values import Role


@dataclass(frozen=True)
class Decision:
    state: users.User
    command: users.UserCommand

    def then(self, *expected: users.UserEvent) -> None:
        assert users.decide(self.command, self.state) == list(expected)

    def raises(self, error: type[DomainError]) -> None:
        with pytest.raises(error):
            users.decide(self.command, self.state)


@dataclass(frozen=True)
class History:
    events: tuple[users.UserEvent, ...]

    def when(self, command: users.UserCommand) -> Decision:
        return Decision(fold(list(self.events)), command)


def given(*events: users.UserEvent) -> History:
    return History(events)


REGISTERED = users.UserRegistered(email="ann@example.com", name="Ann", role=Role.USER)


class TestRegister:
    def test_a_new_user_is_registered(self) -> None:
        given().when(users.RegisterUser(email="ann@example.com", name="Ann", role=Role.ADMIN)).then(
            users.UserRegistered(email="ann@example.com", name="Ann", role=Role.ADMIN)
        )

    def test_the_default_role_is_user(self) -> None:
        given().when(users.RegisterUser(email="ann@example.com", name="Ann")).then(REGISTERED)

    def test_the_registered_state_holds_the_user(self) -> None:
        assert fold([REGISTERED]) == users.User(registered=True, email="ann@example.com", name="Ann", role=Role.USER)


class TestRegisterTwice:
    def test_a_registered_user_cannot_register_again(self) -> None:
        given(REGISTERED).when(users.RegisterUser(email="other@example.com", name="Other")).raises(UserAlreadyExists)


class TestChangeRole:
    def test_a_new_role_is_recorded(self) -> None:
        given(REGISTERED).when(users.ChangeRole(role=Role.ADMIN)).then(users.UserRoleChanged(role=Role.ADMIN))

    def test_an_admin_can_be_demoted(self) -> None:
        given(REGISTERED, users.UserRoleChanged(role=Role.ADMIN)).when(users.ChangeRole(role=Role.USER)).then(
            users.UserRoleChanged(role=Role.USER)
        )

    def test_the_same_role_yields_no_event(self) -> None:
        given(REGISTERED).when(users.ChangeRole(role=Role.USER)).then()

    def test_the_new_role_is_folded_into_the_state(self) -> None:
        state = fold([REGISTERED, users.UserRoleChanged(role=Role.ADMIN)])
        assert (state.role, state.email, state.name) == (Role.ADMIN, "ann@example.com", "Ann")


class TestUnregisteredUser:
    def test_a_role_change_is_not_found(self) -> None:
        given().when(users.ChangeRole(role=Role.ADMIN)).raises(UserNotFound)


registers = st.builds(
    users.RegisterUser,
    email=st.sampled_from(["ann@example.com", "bob@example.com"]),
    name=st.sampled_from(["Ann", "Bob"]),
    role=st.sampled_from(Role),
)
changes = st.builds(users.ChangeRole, role=st.sampled_from(Role))
command_sequences = st.lists(st.one_of(changes, changes, changes, registers), max_size=12)


class TestDeciderLaws:
    @for_all(command_sequences)
    def test_folding_every_decided_event_equals_evolving_step_by_step(self, commands: list[users.UserCommand]) -> None:
        state, decided = users.INITIAL, []
        for command in commands:
            try:
                events = users.decide(command, state)
            except DomainError:
                continue
            for event in events:
                state = users.evolve(state, event)
            decided.extend(events)
        assert fold(decided) == state

    @for_all(command_sequences)
    def test_a_command_is_refused_exactly_when_the_rules_say(self, commands: list[users.UserCommand]) -> None:
        state = users.INITIAL
        for command in commands:
            if isinstance(command, users.RegisterUser) and state.registered:
                with pytest.raises(UserAlreadyExists):
                    users.decide(command, state)
            elif isinstance(command, users.ChangeRole) and not state.registered:
                with pytest.raises(UserNotFound):
                    users.decide(command, state)
            else:
                state = fold(users.decide(command, state), state)

    @for_all(command_sequences)
    def test_identity_is_fixed_at_registration_and_roles_only_change(self, commands: list[users.UserCommand]) -> None:
        state = users.INITIAL
        for command in commands:
            try:
                events = users.decide(command, state)
            except DomainError:
                continue
            for event in events:
                after = users.evolve(state, event)
                if isinstance(event, users.UserRoleChanged):
                    assert event.role is not state.role, "a role change that changes nothing"
                    assert (after.registered, after.email, after.name) == (True, state.email, state.name)
                state = after

    @for_all(command_sequences)
    def test_every_decided_event_survives_the_log_round_trip(self, commands: list[users.UserCommand]) -> None:
        state = users.INITIAL
        for command in commands:
            try:
                events = users.decide(command, state)
            except DomainError:
                continue
            for event in events:
                stored = msgspec.json.decode(msgspec.json.encode(to_data(event)))
                assert from_data(type_name(event), 1, stored) == event
            state = fold(events, state)

"""The User aggregate as a decider (`decide`, `evolve`, `INITIAL`, `fold`)."""

from collections.abc import Iterable
from datetime import datetime

import msgspec

from domain.deciders import fold_with
from domain.errors import UserAlreadyExists, UserNotFound
from domain.values import Role

STREAM_TYPE = "user"


class UserRegistered(msgspec.Struct, frozen=True, rename="camel"):
    """The password hash is not an event field: credentials live outside the log."""

    email: str
    name: str
    role: Role


class UserRoleChanged(msgspec.Struct, frozen=True, rename="camel"):
    role: Role


UserEvent = UserRegistered | UserRoleChanged


class RegisterUser(msgspec.Struct, frozen=True):
    email: str
    name: str
    role: Role = Role.USER


class ChangeRole(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Also PATCH /users/{id}/role's body, as it is."""

    role: Role


UserCommand = RegisterUser | ChangeRole


class User(msgspec.Struct, frozen=True):
    registered: bool = False
    email: str = ""
    name: str = ""
    role: Role = Role.USER
    role_since: datetime | None = None  # when the role last changed (None: the role it registered with)


INITIAL = User()


def decide(command: UserCommand, state: User) -> list[UserEvent]:
    """Decide which events a command causes, or raise the domain error that forbids it."""
    if isinstance(command, RegisterUser):
        if state.registered:
            raise UserAlreadyExists()
        return [UserRegistered(email=command.email, name=command.name, role=command.role)]
    if not state.registered:
        raise UserNotFound()
    return [] if command.role is state.role else [UserRoleChanged(role=command.role)]


def evolve(state: User, event: UserEvent, at: datetime | None = None) -> User:
    """Fold one event (recorded at `at`) into the state."""
    if isinstance(event, UserRegistered):
        return User(registered=True, email=event.email, name=event.name, role=event.role)
    return msgspec.structs.replace(state, role=event.role, role_since=at)


def fold(events: Iterable[UserEvent], state: User = INITIAL, at: datetime | None = None) -> User:
    """The state after all of `events` (recorded at `at`)."""
    return fold_with(evolve, events, state, at)

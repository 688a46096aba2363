"""The set of ports a handler may use; the composition root builds one."""

from dataclasses import dataclass

from application.ports import (
    Clock,
    Ids,
    PasswordHasher,
    TaskReadModel,
    Tokens,
    UnitOfWorkFactory,
    UserReadModel,
)


@dataclass(frozen=True, slots=True)
class Services:
    uow: UnitOfWorkFactory
    tasks: TaskReadModel
    users: UserReadModel
    clock: Clock
    ids: Ids
    hasher: PasswordHasher
    tokens: Tokens
    cursor_secret: bytes

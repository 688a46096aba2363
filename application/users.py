"""Registration, login and user lookups."""

import asyncio
from uuid import UUID

import msgspec

from application.context import Actor, IssuedToken, RequestContext
from application.errors import InvalidCredentials, NotFound
from application.records import StreamAppend
from application.services import Services
from application.tasks import acting_user
from application.views import UserView
from domain import users
from domain.values import Role


class RegisterUser(msgspec.Struct, frozen=True):
    email: str
    name: str
    password: str
    role: Role = Role.USER


class LogIn(msgspec.Struct, frozen=True):
    email: str
    password: str


class Session(msgspec.Struct, frozen=True):
    user: UserView
    access: IssuedToken


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def register_user(command: RegisterUser, ctx: RequestContext, services: Services) -> Session:
    """Register a user (EmailTaken if the email is in use) and log them in."""
    email = normalise_email(command.email)
    name = command.name.strip()
    events = users.decide(users.RegisterUser(email=email, name=name, role=command.role), users.INITIAL)
    password_hash = await asyncio.to_thread(services.hasher.hash, command.password)
    user_id, now = services.ids.new(), services.clock.now()
    async with services.uow() as uow:
        await uow.credentials.save(user_id, email, password_hash)
        await uow.events.append([StreamAppend(user_id, users.STREAM_TYPE, 0, list(events))], ctx.metadata(), now)
    user = UserView(id=user_id, email=email, name=name, role=command.role, created_at=now)
    return Session(user=user, access=services.tokens.issue(Actor(user_id, command.role)))


async def log_in(command: LogIn, ctx: RequestContext, services: Services) -> Session:
    """Check the password; an unknown email costs the same work and gets the same error as a wrong password."""
    credential = await services.users.credential(normalise_email(command.email))
    matches, new_hash = await asyncio.to_thread(
        services.hasher.verify, command.password, credential.password_hash if credential else None
    )
    if credential is None or not matches:
        raise InvalidCredentials()
    if new_hash is not None:
        async with services.uow() as uow:
            await uow.credentials.rehash(credential.user_id, new_hash)
    user = await services.users.get(credential.user_id)
    if user is None:
        raise InvalidCredentials()
    return Session(user=user, access=services.tokens.issue(Actor(user.id, user.role)))


async def get_user(user_id: UUID, ctx: RequestContext, services: Services) -> UserView:
    """A user may read itself; an admin may read anyone."""
    actor = acting_user(ctx)
    user = await services.users.get(user_id)
    if user is None or not actor.may_act_on(user_id):
        raise NotFound("user")
    return user

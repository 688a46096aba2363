"""Registration, login, and user administration."""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from application.access_ports import PasswordHasher
from application.context import RateRule, RequestContext
from application.cursors import Cursor, decode_cursor, page_of
from application.errors import Forbidden, InvalidCredentials, NotFound
from application.fields import NO_CONTROL, PASSWORD_MAX, Command, Email, Name, Password
from application.folds import user_state
from application.ports import UserReadModel
from application.records import StreamAppend
from application.sessions import Session, SessionDeps, enforce, open_session
from application.tasks import acting_user
from application.views import UserPage, UserView
from domain import users
from domain.values import EMAIL_MAX, Role


class RegisterUser(Command, frozen=True):
    """POST /auth/register's body (the role is not the client's to give: any other field is refused)."""

    email: Email
    name: Name
    password: Password


class LogIn(Command, frozen=True):
    """POST /auth/login's body: any text of a plausible length (a wrong one is refused as a wrong password is)."""

    email: Annotated[str, msgspec.Meta(max_length=EMAIL_MAX, pattern=NO_CONTROL)]
    password: Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX)]


USERS_WALK = "users"


@dataclass(frozen=True, slots=True)
class UserDeps(SessionDeps):
    """What registration, login and the user administration use: the sessions' dependencies, and these."""

    hasher: PasswordHasher
    users: UserReadModel
    cursor_secret: bytes  # signs the user list's page cursors


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def register_user(command: RegisterUser, ctx: RequestContext, deps: UserDeps, role: Role = Role.USER) -> Session:
    """Register a user (EmailTaken if the email is in use) and log them in; `role` is never a client's to give."""
    if ctx.client_address:
        enforce(await deps.rate_limiter.hit(RateRule.REGISTER_BY_ADDRESS, ctx.client_address))
    email = normalise_email(command.email)
    name = command.name.strip()
    events = users.decide(users.RegisterUser(email=email, name=name, role=role), users.INITIAL)
    password_hash = await asyncio.to_thread(deps.hasher.hash, command.password)
    user = UserView(id=deps.ids.new(), email=email, name=name, role=role, created_at=deps.clock.now())
    async with deps.uow() as uow:
        await uow.credentials.save(user.id, email, password_hash)
        await uow.events.append(
            [StreamAppend(user.id, users.STREAM_TYPE, 0, list(events))], ctx.metadata(), user.created_at
        )
        return await open_session(uow, user, deps)


async def log_in(command: LogIn, ctx: RequestContext, deps: UserDeps) -> Session:
    """Check the password; an unknown email costs the same work and gets the same error as a wrong password.

    Limits: attempts per client address; failures per account and client address, so guesses from one address
    lock that address out of the account and no other; and failures per account from every address, past which
    everyone waits, longer the more there were (unknown emails alike, so a refusal reveals nothing either).
    """
    email = normalise_email(command.email)
    limiter = deps.rate_limiter
    if ctx.client_address:
        enforce(await limiter.hit(RateRule.LOGIN_BY_ADDRESS, ctx.client_address))
    # An address never holds a space: "address email" names one pair only.
    failures = [
        (RateRule.FAILED_LOGINS_FROM_ADDRESS, f"{ctx.client_address or '-'} {email}"),
        (RateRule.FAILED_LOGINS, email),
        (RateRule.FAILED_LOGINS_HOURLY, email),
    ]
    for limit in await asyncio.gather(*(limiter.peek(rule, key) for rule, key in failures)):
        enforce(limit)
    credential = await deps.users.credential(email)
    matches, new_hash = await asyncio.to_thread(
        deps.hasher.verify, command.password, credential.password_hash if credential else None
    )
    user = await deps.users.get(credential.user_id) if credential and matches else None
    if credential is None or user is None:
        await asyncio.gather(*(limiter.hit(rule, key) for rule, key in failures))
        raise InvalidCredentials()
    async with deps.uow() as uow:
        if new_hash is not None:
            await uow.credentials.rehash(user.id, new_hash)
        return await open_session(uow, user, deps)


async def get_user(user_id: UUID, ctx: RequestContext, deps: UserDeps) -> UserView:
    """A user may read itself; an admin may read anyone (the user routes are the admin's: 403 for others)."""
    if not acting_user(ctx).may_act_on(user_id):
        raise Forbidden("only an admin may read another user")
    user = await deps.users.get(user_id)
    if user is None:
        raise NotFound("user")
    return user


async def list_users(limit: int, cursor: str | None, ctx: RequestContext, deps: UserDeps) -> UserPage:
    """Every user, oldest first (admins only)."""
    if not acting_user(ctx).is_admin:
        raise Forbidden("only an admin may list users")
    now = deps.clock.now()
    position = decode_cursor(deps.cursor_secret, cursor, USERS_WALK, now) if cursor else None
    began_at = position.began_at if position else now
    after = (position.key, position.id) if position and isinstance(position.key, datetime) else None
    rows = await deps.users.list(limit + 1, after)
    page, next_cursor = page_of(
        deps.cursor_secret, rows, limit, lambda user: Cursor(USERS_WALK, user.created_at, user.id, began_at)
    )
    return UserPage(data=page, next_cursor=next_cursor)


async def change_role(user_id: UUID, command: users.ChangeRole, ctx: RequestContext, deps: UserDeps) -> UserView:
    """Change a user's role (admins only, never their own): it takes effect on the user's next request, which the
    user's access tokens issued before the change no longer pass (a refresh issues one with the new role)."""
    actor = acting_user(ctx)
    if not actor.is_admin:
        raise Forbidden("only an admin may change roles")
    if user_id == actor.user_id:
        raise Forbidden("an admin may not change their own role")
    async with deps.uow() as uow:
        records = await uow.events.load(user_id)
        state = user_state(records)
        if not state.registered:
            raise NotFound("user")
        events = users.decide(command, state)
        if events:
            await uow.events.append(
                [StreamAppend(user_id, users.STREAM_TYPE, records[-1].version, list(events))],
                ctx.metadata(),
                deps.clock.now(),
            )
    if events:
        await deps.revocations.role_changed(user_id)
    user = await deps.users.get(user_id)
    if user is None:
        raise NotFound("user")
    return user

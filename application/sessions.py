"""Sessions: an access token (JWT) and a rotating refresh token per login, reuse detection, logout."""

import hashlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from uuid import UUID

import msgspec

from application.access_ports import AccessGate, AccessRevocations, RateLimiter, Tokens
from application.context import (
    AccessClaims,
    Actor,
    Admission,
    IssuedToken,
    RateLimit,
    RateRule,
    RefreshToken,
    RequestContext,
)
from application.errors import RateLimited, Unauthenticated
from application.fields import Command, RefreshTokenText
from application.ports import Clock, Ids, UnitOfWork, UnitOfWorkFactory
from application.views import UserView


@dataclass(frozen=True, slots=True)
class SessionDeps:
    """What opening, refreshing and ending sessions use."""

    uow: UnitOfWorkFactory
    clock: Clock
    ids: Ids
    tokens: Tokens
    rate_limiter: RateLimiter
    revocations: AccessRevocations  # a logout's revoked token, published for the gate
    refresh_token_ttl_seconds: int


class SessionToken(Command, frozen=True):
    """POST /auth/refresh's and /auth/logout's body: the refresh token to rotate, or whose family to revoke."""

    refresh_token: RefreshTokenText


class Session(msgspec.Struct, frozen=True):
    user: UserView
    access: IssuedToken
    refresh_token: str


T = TypeVar("T")

# How long after a refresh its token may be presented again without being taken for theft.
REUSE_GRACE = timedelta(seconds=10)


def refresh_token_hash(token: str) -> bytes:
    # The token carries 256 random bits, so a fast hash is enough to make the stored value useless to a thief.
    return hashlib.sha256(token.encode()).digest()


async def open_session(uow: UnitOfWork, user: UserView, deps: SessionDeps, family_id: UUID | None = None) -> Session:
    """Issue an access token and a refresh token (in `uow`), starting a new token family unless one is given."""
    now = deps.clock.now()
    token = deps.tokens.new_refresh_token()
    await uow.refresh_tokens.add(
        RefreshToken(
            token_hash=refresh_token_hash(token),
            family_id=family_id or deps.ids.new(),
            user_id=user.id,
            issued_at=now,
            expires_at=now + timedelta(seconds=deps.refresh_token_ttl_seconds),
        )
    )
    return Session(user=user, access=deps.tokens.issue(Actor(user.id, user.role)), refresh_token=token)


def enforce(limit: RateLimit) -> None:
    if not limit.allowed:
        raise RateLimited(limit.limit, limit.reset_after_seconds)


async def refresh(token: str, ctx: RequestContext, deps: SessionDeps) -> Session:
    """Rotate: spend the presented token and return a new pair; a spent token presented again revokes its family.

    A token spent moments ago (REUSE_GRACE) is refused without the revocation: that is a client's own
    concurrent or retried refresh, and revoking would log out the refresh that won. Refreshes are limited per
    client address.
    """
    if ctx.client_address:
        enforce(await deps.rate_limiter.hit(RateRule.REFRESH_BY_ADDRESS, ctx.client_address))
    now = deps.clock.now()
    session: Session | None = None
    async with deps.uow() as uow:
        grant = await uow.refresh_tokens.lock(refresh_token_hash(token))
        # Unknown, revoked and expired tokens fall through to the 401 below.
        if grant is not None and grant.token.revoked_at is None and grant.token.expires_at > now:
            record = grant.token
            if record.spent_at is not None:
                if now - record.spent_at > REUSE_GRACE:
                    # Reuse: whoever holds this family (a thief or the victim) is logged out; the revocation commits.
                    await uow.refresh_tokens.revoke_family(record.family_id, now)
            elif grant.user is not None:
                await uow.refresh_tokens.spend(record.token_hash, now)
                session = await open_session(uow, grant.user, deps, record.family_id)
    if session is None:
        raise Unauthenticated()
    return session


async def log_out(token: str, ctx: RequestContext, deps: SessionDeps) -> None:
    """Revoke the refresh token's family (if it is the caller's) and the access token the request carries."""
    if ctx.actor is None or ctx.access is None:
        raise Unauthenticated()
    now = deps.clock.now()
    async with deps.uow() as uow:
        grant = await uow.refresh_tokens.lock(refresh_token_hash(token))
        if grant is not None and grant.token.user_id == ctx.actor.user_id:
            await uow.refresh_tokens.revoke_family(grant.token.family_id, now)
        await uow.refresh_tokens.deny_access(ctx.actor.user_id, ctx.access.jti, ctx.access.expires_at)
    await deps.revocations.token_revoked(ctx.actor.user_id, ctx.access.jti, ctx.access.expires_at)


def verify_access(token: str, tokens: Tokens) -> AccessClaims:
    """The claims of a validly signed, unexpired access token; Unauthenticated otherwise (revocation is admit's)."""
    return tokens.verify(token)


async def admit(claims: AccessClaims, gate: AccessGate) -> None:
    """Unauthenticated if the token is refused (revoked at logout, issued before its user's role changed, or naming
    no user), RateLimited past the per-user API limit; a refused token's request does not count against the limit."""
    Admission(claims).settle(await gate.admit(claims, RateRule.API_BY_USER))


# The caller's admission while a read asks it with the cache's own round trip (see admitted_read).
PENDING: ContextVar[Admission | None] = ContextVar("pending_admission", default=None)


async def admitted_read(ctx: RequestContext, gate: AccessGate, read: Callable[[], Awaitable[T]]) -> T:
    """Run `read` with the caller's admission still to be asked: the cache asks it in the round trip that fetches
    the value (one round trip for both). Whatever `read` does, the caller is admitted before its result, or its
    error, is given: a refusal (401, 429) comes first."""
    admission = ctx.admission
    if admission is None or admission.settled:
        return await read()
    pending = PENDING.set(admission)
    try:
        result = await read()
    except (Unauthenticated, RateLimited):
        raise
    except Exception:
        if not admission.settled:
            admission.settle(await gate.admit(admission.claims, RateRule.API_BY_USER))
        raise
    finally:
        PENDING.reset(pending)
    if not admission.settled:  # the read went without the cache (off, or bypassed)
        admission.settle(await gate.admit(admission.claims, RateRule.API_BY_USER))
    return result


class SequentialGate:
    """An access gate made of its two ports, asked one after the other: the durable refusals, then the limiter."""

    def __init__(self, revocations: AccessRevocations, limiter: RateLimiter) -> None:
        self._revocations = revocations
        self._limiter = limiter

    async def admit(self, claims: AccessClaims, rule: RateRule) -> RateLimit | None:
        if await self._revocations.refuses(claims):
            return None
        return await self._limiter.hit(rule, str(claims.actor.user_id))

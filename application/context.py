"""Who is acting, on behalf of which request, and the security records that travel with it."""

import enum
from datetime import datetime
from uuid import UUID

import msgspec

from application.errors import RateLimited, Unauthenticated
from application.records import EventMetadata
from application.views import UserView
from domain.values import Role


class Actor(msgspec.Struct, frozen=True):
    user_id: UUID
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_act_on(self, owner_id: UUID) -> bool:
        """Users act on their own things only; admins on all."""
        return self.is_admin or owner_id == self.user_id


class IssuedToken(msgspec.Struct, frozen=True):
    token: str
    expires_in: int


class AccessClaims(msgspec.Struct, frozen=True):
    """What a verified access token says: who (with the role it was issued for), which token, and when."""

    actor: Actor
    jti: str
    expires_at: datetime
    issued_at: datetime

    def predates(self, role: Role, role_since: datetime | None) -> bool:
        """Whether the token was issued for another role than `role`, or before the role changed (`role_since`,
        to the second a token's time is given in): such a token no longer speaks for its user."""
        if self.actor.role is not role:
            return True
        return role_since is not None and self.issued_at < role_since.replace(microsecond=0)


class RefreshToken(msgspec.Struct, frozen=True):
    token_hash: bytes
    family_id: UUID
    user_id: UUID
    issued_at: datetime
    expires_at: datetime
    spent_at: datetime | None = None
    revoked_at: datetime | None = None


class RefreshGrant(msgspec.Struct, frozen=True):
    """A refresh token's record, locked, with the user it was issued to (None if that user is gone)."""

    token: RefreshToken
    user: UserView | None


class RateRule(enum.StrEnum):
    """The rate limits the service enforces; their rates come from the settings."""

    LOGIN_BY_ADDRESS = "login-address"
    FAILED_LOGINS_FROM_ADDRESS = "login-failures-address"  # one account's, from one client address
    FAILED_LOGINS = "login-failures"  # one account's, from every address: the short ceiling
    FAILED_LOGINS_HOURLY = "login-failures-hour"  # and the long one
    REGISTER_BY_ADDRESS = "register-address"
    REFRESH_BY_ADDRESS = "refresh-address"
    API_BY_USER = "api-user"


class RateLimit(msgspec.Struct, frozen=True):
    """A limiter's answer; `remaining` and `reset_after_seconds` are only known when it refuses."""

    allowed: bool
    limit: int
    remaining: int
    reset_after_seconds: int


class Admission:
    """Whether a verified token's request may go on (not revoked, its role still the user's, within the per-user
    limit), asked once a request: of the gate alone, or, for a read through the cache, in the cache's own round
    trip. Settled once; a refusal raises."""

    def __init__(self, claims: AccessClaims) -> None:
        self.claims = claims
        self.settled = False

    def settle(self, verdict: RateLimit | None) -> None:
        """The gate's verdict: None for a refused token (401), else the limit's answer (429 past it)."""
        self.settled = True
        if verdict is None:
            raise Unauthenticated()
        if not verdict.allowed:
            raise RateLimited(verdict.limit, verdict.reset_after_seconds)


class RequestContext(msgspec.Struct, frozen=True):
    """The caller (None before login), its token, its address, and the ids every event of the request carries.
    `admission`: the caller's admission when it is still to be asked (with a cached read's round trip)."""

    actor: Actor | None
    request_id: str | None = None
    correlation_id: str | None = None
    client_address: str | None = None
    access: AccessClaims | None = None
    admission: Admission | None = None

    def metadata(self) -> EventMetadata:
        return EventMetadata(
            actor_id=str(self.actor.user_id) if self.actor else None,
            correlation_id=self.correlation_id or self.request_id,
            causation_id=self.request_id,
            request_id=self.request_id,
        )

"""Ports of authentication and admission: password hashing, tokens, revocations, the per-request gate, rate limits."""

from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.context import AccessClaims, Actor, IssuedToken, RateLimit, RateRule


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """(matches, new hash when the parameters changed); with no hash, does the same work and fails."""
        ...


class Tokens(Protocol):
    def issue(self, actor: Actor) -> IssuedToken: ...

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid, unexpired token; Unauthenticated for anything else."""
        ...

    def new_refresh_token(self) -> str:
        """An opaque random token of at least 256 bits."""
        ...


class AccessRevocations(Protocol):
    """Access tokens refused before they expire: a logout revokes one, a role change every one issued before it.
    Both are recorded durably first (the revoked token in the unit of work, the role in the log); published here
    for the per-request gate."""

    async def token_revoked(self, user_id: UUID, jti: str, expires_at: datetime) -> None:
        """Publish a revocation already recorded durably (best effort: the durable record is the fallback)."""
        ...

    async def role_changed(self, user_id: UUID) -> None:
        """Publish a role change already committed (the gate reads the role, and since when, from the record)."""
        ...

    async def refuses(self, claims: AccessClaims) -> bool:
        """From the durable records: the token is revoked, predates its user's role, or names no user."""
        ...


class AccessGate(Protocol):
    """The per-request check of an authenticated call: is its token still good, and is its caller within a limit."""

    async def admit(self, claims: AccessClaims, rule: RateRule) -> RateLimit | None:
        """None when the token is refused (revoked, predating its user's role, or naming no user) and nothing is
        counted; else one hit of `rule` for the token's user, counted and judged as RateLimiter.hit does."""
        ...


class RateLimiter(Protocol):
    async def hit(self, rule: RateRule, key: str) -> RateLimit:
        """Count one hit of `rule` for `key`; the result says whether it was within the limit."""
        ...

    async def peek(self, rule: RateRule, key: str) -> RateLimit:
        """Whether `key` is within `rule` now, without counting a hit."""
        ...

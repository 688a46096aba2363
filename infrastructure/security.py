"""Password hashing (argon2 through passlib) and JWT access tokens (PyJWT, pinned algorithm)."""

import secrets
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt
from passlib.context import CryptContext

from application.context import AccessClaims, Actor, IssuedToken
from application.errors import Unauthenticated
from application.ports import Clock
from domain.values import Role

ISSUER = "taskflow"
AUDIENCE = "taskflow-api"
ALGORITHM = "HS256"
CLOCK_LEEWAY_SECONDS = 10
REFRESH_TOKEN_BYTES = 32  # 256 bits
# Verified tokens remembered per process: a few minutes of distinct callers at a busy instance (each entry is a
# token and its claims, about 1 KB), bounded so that a flood of valid tokens cannot grow it.
VERIFIED_TOKENS = 10_000


class Argon2Hasher:
    def __init__(self, memory_cost: int, rounds: int, parallelism: int = 1) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_cost,
            argon2__rounds=rounds,
            argon2__parallelism=parallelism,
        )
        # Verified against when the email is unknown, so that costs what a wrong password costs.
        self._decoy = self._context.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return str(self._context.hash(password))

    def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        matches, new_hash = self._context.verify_and_update(password, password_hash or self._decoy)
        if password_hash is None:
            return False, None
        return bool(matches), new_hash


class JwtTokens:
    def __init__(self, secret: bytes, ttl_seconds: int, clock: Clock) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._clock = clock
        self._verified: dict[str, tuple[AccessClaims, float]] = {}  # token -> (its claims, its exp as a timestamp)

    def issue(self, actor: Actor) -> IssuedToken:
        now = self._clock.now()
        claims = {
            "sub": str(actor.user_id),
            "role": actor.role.value,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + timedelta(seconds=self._ttl),
            "iss": ISSUER,
            "aud": AUDIENCE,
        }
        return IssuedToken(token=jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires_in=self._ttl)

    def new_refresh_token(self) -> str:
        return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)

    def verify(self, token: str) -> AccessClaims:
        """The token's claims. A token verified before is not decoded again (its signature and claims cannot have
        changed): its expiry alone is checked, against the same clock and leeway; whether it was revoked since is
        the gate's question, asked every request."""
        known = self._verified.get(token)
        if known is not None:
            claims, expires = known
            if time.time() < expires + CLOCK_LEEWAY_SECONDS:
                return claims
            del self._verified[token]
            raise Unauthenticated()
        claims = self._decode(token)
        if len(self._verified) >= VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]  # the oldest: dicts keep insertion order
        self._verified[token] = (claims, claims.expires_at.timestamp())
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": ["sub", "role", "jti", "iat", "exp", "iss", "aud"]},
            )
            actor = Actor(user_id=UUID(claims["sub"]), role=Role(claims["role"]))
            return AccessClaims(
                actor=actor,
                jti=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
            # OverflowError: a signed `exp` past any date (10**20), which PyJWT accepts as a number.
            raise Unauthenticated() from exc

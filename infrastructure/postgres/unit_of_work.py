"""The PostgreSQL unit of work: one pooled connection, one transaction, the event store and credentials on it."""

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from types import TracebackType
from typing import Self
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.context import RefreshGrant, RefreshToken
from application.errors import EmailTaken
from application.views import UserView
from domain.values import Role
from infrastructure.metrics import count_appended
from infrastructure.postgres.event_store import PostgresEventStore
from infrastructure.postgres.pool import Pool, translated_errors

Begin = Callable[[], Awaitable[None]]


class PostgresCredentials:
    def __init__(self, conn: psycopg.AsyncConnection[TupleRow], begin: Begin) -> None:
        self._conn = conn
        self._begin = begin

    async def save(self, user_id: UUID, email: str, password_hash: str) -> None:
        await self._begin()
        try:
            async with self._conn.transaction():  # a savepoint, so the caller's transaction stays usable
                await self._conn.execute(
                    "INSERT INTO credentials (user_id, email, password_hash) VALUES (%s, %s, %s)",
                    (user_id, email, password_hash),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise EmailTaken() from exc

    async def rehash(self, user_id: UUID, password_hash: str) -> None:
        await self._begin()
        await self._conn.execute(
            "UPDATE credentials SET password_hash = %s, updated_at = now() WHERE user_id = %s",
            (password_hash, user_id),
        )


class PostgresRefreshTokens:
    def __init__(self, conn: psycopg.AsyncConnection[TupleRow], begin: Begin) -> None:
        self._conn = conn
        self._begin = begin

    async def add(self, token: RefreshToken) -> None:
        await self._begin()
        await self._conn.execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (token.token_hash, token.family_id, token.user_id, token.issued_at, token.expires_at),
        )

    async def lock(self, token_hash: bytes) -> RefreshGrant | None:
        await self._begin()
        cursor = await self._conn.execute(
            "SELECT r.token_hash, r.family_id, r.user_id, r.issued_at, r.expires_at, r.spent_at, r.revoked_at,"
            " u.email, u.name, u.role, u.created_at"
            " FROM refresh_tokens r LEFT JOIN users_view u ON u.id = r.user_id"
            " WHERE r.token_hash = %s FOR UPDATE OF r",
            (token_hash,),
        )
        row = await cursor.fetchone()
        if row is None:
            return None
        hash_, family_id, user_id, issued_at, expires_at, spent_at, revoked_at, email, name, role, created_at = row
        token = RefreshToken(bytes(hash_), family_id, user_id, issued_at, expires_at, spent_at, revoked_at)
        user = UserView(user_id, email, name, Role(role), created_at) if email is not None else None
        return RefreshGrant(token=token, user=user)

    async def spend(self, token_hash: bytes, at: datetime) -> None:
        await self._begin()
        await self._conn.execute("UPDATE refresh_tokens SET spent_at = %s WHERE token_hash = %s", (at, token_hash))

    async def revoke_family(self, family_id: UUID, at: datetime) -> None:
        await self._begin()
        await self._conn.execute(
            "UPDATE refresh_tokens SET revoked_at = %s WHERE family_id = %s AND revoked_at IS NULL", (at, family_id)
        )

    async def deny_access(self, user_id: UUID, jti: str, expires_at: datetime) -> None:
        await self._begin()
        await self._conn.execute(
            "INSERT INTO revoked_access_tokens (jti, user_id, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (jti) DO NOTHING",
            (jti, user_id, expires_at),
        )


class PostgresIdempotencyKeys:
    def __init__(self, conn: psycopg.AsyncConnection[TupleRow], begin: Begin) -> None:
        self._conn = conn
        self._begin = begin

    async def claim(
        self, user_id: UUID, key: str, fingerprint: bytes, now: datetime, expired_before: datetime
    ) -> tuple[bytes, bytes] | None:
        await self._begin()
        await self._conn.execute(
            "DELETE FROM idempotency_keys WHERE user_id = %s AND key = %s AND created_at < %s",
            (user_id, key, expired_before),
        )
        # The response is filled in by complete(), before this transaction commits; nobody sees it empty.
        cursor = await self._conn.execute(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, response, created_at)"
            " VALUES (%s, %s, %s, '', %s) ON CONFLICT DO NOTHING RETURNING 1",
            (user_id, key, fingerprint, now),
        )
        if await cursor.fetchone() is not None:
            return None
        cursor = await self._conn.execute(
            "SELECT fingerprint, response FROM idempotency_keys WHERE user_id = %s AND key = %s", (user_id, key)
        )
        row = await cursor.fetchone()
        return (bytes(row[0]), bytes(row[1])) if row else None

    async def complete(self, user_id: UUID, key: str, response: bytes) -> None:
        await self._begin()
        await self._conn.execute(
            "UPDATE idempotency_keys SET response = %s WHERE user_id = %s AND key = %s", (response, user_id, key)
        )


class PostgresUnitOfWork:
    """One unit of work on one pooled connection. Reads run at once; a transaction is begun only when something
    needs one (a lock, a credential, a token, an idempotency key), and the appends are written when the block
    ends: with no transaction, as one statement that commits itself; else as the transaction's last statement."""

    events: PostgresEventStore
    credentials: PostgresCredentials
    refresh_tokens: PostgresRefreshTokens
    idempotency: PostgresIdempotencyKeys

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._stack = AsyncExitStack()
        self._conn: psycopg.AsyncConnection[TupleRow] | None = None
        self._in_transaction = False

    async def _begin(self) -> None:
        if not self._in_transaction:
            assert self._conn is not None, "inside the unit of work"
            await self._stack.enter_async_context(self._conn.transaction())
            self._in_transaction = True

    async def try_lock(self, key: UUID) -> bool:
        """A transaction-level advisory lock: released at commit or rollback, and with the connection if it dies."""
        await self._begin()
        assert self._conn is not None, "inside the unit of work"
        cursor = await self._conn.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (f"claim:{key}",)
        )
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(translated_errors())
            conn = await stack.enter_async_context(self._pool.connection())
            self.events = PostgresEventStore(conn)
            self.credentials = PostgresCredentials(conn, self._begin)
            self.refresh_tokens = PostgresRefreshTokens(conn, self._begin)
            self.idempotency = PostgresIdempotencyKeys(conn, self._begin)
            self._conn = conn
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                await self.events.flush()
            except BaseException as error:
                # Rolled back (if a transaction was begun) and translated on the way out.
                if not await self._stack.__aexit__(type(error), error, error.__traceback__):
                    raise
                return
        await self._stack.__aexit__(exc_type, exc, tb)
        if exc_type is None:
            count_appended(record.type for record in self.events.appended)  # committed: nothing raised

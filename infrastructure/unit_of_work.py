"""The PostgreSQL unit of work: one pooled connection, one transaction, the event store and credentials on it."""

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.errors import EmailTaken
from infrastructure.event_store import PostgresEventStore
from infrastructure.postgres import Pool, translated_errors


class PostgresCredentials:
    def __init__(self, conn: psycopg.AsyncConnection[TupleRow]) -> None:
        self._conn = conn

    async def save(self, user_id: UUID, email: str, password_hash: str) -> None:
        try:
            async with self._conn.transaction():  # a savepoint, so the caller's transaction stays usable
                await self._conn.execute(
                    "INSERT INTO credentials (user_id, email, password_hash) VALUES (%s, %s, %s)",
                    (user_id, email, password_hash),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise EmailTaken() from exc

    async def rehash(self, user_id: UUID, password_hash: str) -> None:
        await self._conn.execute(
            "UPDATE credentials SET password_hash = %s, updated_at = now() WHERE user_id = %s",
            (password_hash, user_id),
        )


class PostgresUnitOfWork:
    events: PostgresEventStore
    credentials: PostgresCredentials

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(translated_errors())
            conn = await stack.enter_async_context(self._pool.connection())
            await stack.enter_async_context(conn.transaction())
            self.events = PostgresEventStore(conn)
            self.credentials = PostgresCredentials(conn)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)

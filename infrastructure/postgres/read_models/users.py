"""The user read model over users_view and credentials."""

from datetime import datetime
from typing import Any
from uuid import UUID

from application.views import Credential, UserView
from domain.values import Role
from infrastructure.postgres.pool import Pool, translated_errors


def _user(row: tuple[Any, ...]) -> UserView:
    id_, email, name, role, created_at = row
    return UserView(id=id_, email=email, name=name, role=Role(role), created_at=created_at)


class PostgresUserReadModel:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get(self, user_id: UUID) -> UserView | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, email, name, role, created_at FROM users_view WHERE id = %s", (user_id,)
            )
            row = await cursor.fetchone()
        return _user(row) if row else None

    async def list(self, limit: int, after: tuple[datetime, UUID] | None) -> list[UserView]:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, email, name, role, created_at FROM users_view"
                " WHERE %s::timestamptz IS NULL OR (created_at, id) > (%s, %s)"
                " ORDER BY created_at, id LIMIT %s",
                (*(after or (None, None))[:1], *(after or (None, None)), limit),
            )
            rows = await cursor.fetchall()
        return [_user(row) for row in rows]

    async def credential(self, email: str) -> Credential | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT c.user_id, c.password_hash, u.role FROM credentials c"
                " JOIN users_view u ON u.id = c.user_id WHERE c.email = %s",
                (email,),
            )
            row = await cursor.fetchone()
        return Credential(user_id=row[0], password_hash=row[1], role=Role(row[2])) if row else None

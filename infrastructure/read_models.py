"""Read-model queries over tasks_view and users_view: SQL on indexed columns, keyset pages."""

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from application.views import Credential, TaskListing, TaskView, UserView
from domain.values import Money, Priority, Role, TaskStatus
from infrastructure.postgres import Pool, translated_errors

_TASK_COLUMNS = (
    "id, title, description, status, priority, due_date, owner_id, fee_amount, fee_currency,"
    " version, created_at, updated_at"
)


def _task(row: tuple[Any, ...]) -> TaskView:
    id_, title, description, status, priority, due, owner, amount, currency, version, created, updated = row
    return TaskView(
        id=id_,
        title=title,
        description=description,
        status=TaskStatus(status),
        priority=Priority(priority),
        due_date=due,
        owner_id=owner,
        fee=Money(amount=amount, currency=currency) if amount is not None else None,
        refund=None,
        version=version,
        created_at=created,
        updated_at=updated,
    )


def _user(row: tuple[Any, ...]) -> UserView:
    id_, email, name, role, created_at = row
    return UserView(id=id_, email=email, name=name, role=Role(role), created_at=created_at)


class PostgresTaskReadModel:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get(self, task_id: UUID) -> TaskView | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(f"SELECT {_TASK_COLUMNS} FROM tasks_view WHERE id = %s", (task_id,))
            row = await cursor.fetchone()
        return _task(row) if row else None

    async def list(self, listing: TaskListing) -> list[TaskView]:
        conditions: list[sql.Composable] = []
        params: list[Any] = []
        if listing.owner_id is not None:
            conditions.append(sql.SQL("owner_id = %s"))
            params.append(listing.owner_id)
        if listing.statuses:
            conditions.append(sql.SQL("status = ANY(%s)"))
            params.append([s.value for s in listing.statuses])
        if listing.priorities:
            conditions.append(sql.SQL("priority = ANY(%s)"))
            params.append([p.value for p in listing.priorities])
        if listing.after is not None:
            conditions.append(sql.SQL("(created_at, id) < (%s, %s)"))
            params.extend(listing.after)
        where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
        query = sql.SQL("SELECT {columns} FROM tasks_view{where} ORDER BY created_at DESC, id DESC LIMIT %s").format(
            columns=sql.SQL(_TASK_COLUMNS), where=where
        )
        params.append(listing.limit)
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(query, params)
            rows = await cursor.fetchall()
        return [_task(row) for row in rows]


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

"""Read-model queries over tasks_view and users_view: SQL on indexed columns, keyset pages."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg import sql

from application.errors import InvalidInput
from application.views import (
    ActivityDay,
    ActivityReport,
    Credential,
    RefundView,
    TaskFilter,
    TaskListing,
    TaskRows,
    TaskStats,
    TaskView,
    UserView,
)
from domain.refunds import RefundStatus
from domain.values import Money, Priority, Role, TaskStatus
from infrastructure.postgres import Pool, translated_errors

_REFUND_FIELDS = ", ".join(
    f"'{name}', r.{column}"
    for name, column in (
        ("id", "id"),
        ("taskId", "task_id"),
        ("amount", "amount"),
        ("currency", "currency"),
        ("status", "status"),
        ("attempts", "attempts"),
        ("lastError", "last_error"),
        ("requestedAt", "requested_at"),
        ("completedAt", "completed_at"),
    )
)
REFUND_OF_TASK = f"(SELECT json_build_object({_REFUND_FIELDS}) FROM refunds_view r WHERE r.task_id = tasks_view.id)"
_TASK_COLUMNS = (
    "id, title, description, status, priority, due_date, overdue, owner_id, fee_amount, fee_currency,"
    f" version, created_at, updated_at, {REFUND_OF_TASK} AS refund"
)
TASK_BY_ID = (
    f"SELECT {_TASK_COLUMNS} FROM tasks_view WHERE id = %s AND valid_to IS NULL AND (%s::uuid IS NULL OR owner_id = %s)"
)


def _task(row: tuple[Any, ...]) -> TaskView:
    id_, title, description, status, priority, due, overdue, owner = row[:8]
    amount, currency, version, created, updated, refund = row[8:]
    return TaskView(
        id=id_,
        title=title,
        description=description,
        status=TaskStatus(status),
        priority=Priority(priority),
        due_date=due,
        overdue=overdue,
        owner_id=owner,
        fee=Money(amount=amount, currency=currency) if amount is not None else None,
        refund=msgspec.convert(refund, RefundView) if refund is not None else None,
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

    async def get(self, task_id: UUID, owner_id: UUID | None = None) -> TaskView | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(TASK_BY_ID, (task_id, owner_id, owner_id))
            row = await cursor.fetchone()
        return _task(row) if row else None

    async def stats(self, owner_id: UUID | None) -> TaskStats:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(STATS_QUERY, {"owner": owner_id})
            row = await cursor.fetchone()
        assert row is not None, "an aggregate always has a row"
        return TaskStats(*(int(value) for value in row))

    async def list(self, listing: TaskListing) -> TaskRows:
        query, params = task_page_query(listing)
        async with translated_errors(), self._pool.connection() as conn:
            try:
                cursor = await conn.execute(query, params)
            except psycopg.errors.InternalError_ as exc:
                # websearch_to_tsquery's parser keeps pending operators on a stack of 32: a run of negations
                # ("----a") overflows it. The database is the one judge of what it can parse.
                if listing.filter.text and exc.diag.message_primary == "tsquery stack too small":
                    raise InvalidInput("q", "has too many negations ('-') in a row") from exc
                raise
            found = await cursor.fetchall()
        epoch = int(found[0][-1])
        rows = [row for row in found if row[0] is not None]  # an empty page comes back as one row of nulls
        snapshot = rows[-1][-2] if rows else None
        return TaskRows(rows=[_task(row[:-2]) for row in rows], snapshot=snapshot, epoch=epoch)


STATS_QUERY = """
SELECT coalesce(sum(total), 0), coalesce(sum(pending), 0), coalesce(sum(in_progress), 0),
       coalesce(sum(completed), 0), coalesce(sum(high_priority), 0), coalesce(sum(overdue), 0)
FROM task_counters WHERE %(owner)s::uuid IS NULL OR owner_id = %(owner)s
"""


# The column each sort orders by; the id breaks ties in the same direction.
_SORT_COLUMNS = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "dueDate": "due_sort",
    "priority": "priority_rank",
}
# A task without a due date has the key None in its cursor, and sorts as 'infinity'.
_KEY_PLACEHOLDERS = {"due_sort": "coalesce(%s::timestamptz, 'infinity')"}


def _visible(listing: TaskListing) -> tuple[sql.Composable, list[Any]]:
    if listing.snapshot is None:
        # The first page: the current versions, read in this statement's own snapshot.
        return sql.SQL("valid_to IS NULL"), []
    return (
        sql.SQL(
            "pg_visible_in_snapshot(valid_from, %s::pg_snapshot)"
            " AND (valid_to IS NULL OR NOT pg_visible_in_snapshot(valid_to, %s::pg_snapshot))"
        ),
        [listing.snapshot, listing.snapshot],
    )


def _filters(task_filter: TaskFilter) -> tuple[list[sql.Composable], list[Any]]:
    conditions: list[sql.Composable] = []
    params: list[Any] = []

    def where(condition: str, *values: Any) -> None:
        conditions.append(sql.SQL(condition))
        params.extend(values)

    if task_filter.owner_id is not None:
        where("owner_id = %s", task_filter.owner_id)
    if task_filter.statuses:
        where("status = ANY(%s)", [s.value for s in task_filter.statuses])
    if task_filter.priorities:
        where("priority = ANY(%s)", [p.value for p in task_filter.priorities])
    if task_filter.due_before is not None:
        where("due_date < %s", task_filter.due_before)
    if task_filter.due_after is not None:
        where("due_date > %s", task_filter.due_after)
    if task_filter.overdue:
        where("overdue")
    if task_filter.text:
        where("search @@ websearch_to_tsquery('simple', %s)", task_filter.text)
    return conditions, params


def task_page_query(listing: TaskListing) -> tuple[sql.Composed, list[Any]]:
    """The one SQL statement of a page: filters, keyset position and order, all on indexed columns."""
    visible, params = _visible(listing)
    conditions, filter_params = _filters(listing.filter)
    conditions.insert(0, visible)
    params += filter_params
    column_name = _SORT_COLUMNS[listing.sort.value.removeprefix("-")]
    column = sql.Identifier(column_name)
    direction = sql.SQL("DESC" if listing.sort.descending else "ASC")
    if listing.after is not None:
        key, last_id = listing.after
        conditions.append(
            sql.SQL("({column}, id) {beyond} ({key}, %s)").format(
                column=column,
                beyond=sql.SQL("<" if listing.sort.descending else ">"),
                key=sql.SQL(_KEY_PLACEHOLDERS.get(column_name, "%s")),
            )
        )
        params += [key, last_id]
    # The table's identity comes back even for an empty page: a rebuild replaces the table, and a walk begun on
    # the old one must start again rather than read the new one through the old snapshot.
    query = sql.SQL(
        "SELECT page.*, table_epoch.epoch FROM (SELECT 'tasks_view'::regclass::oid::bigint AS epoch) AS table_epoch"
        " LEFT JOIN LATERAL (SELECT {columns}, pg_current_snapshot()::text AS snapshot FROM tasks_view WHERE {where}"
        " ORDER BY {column} {direction}, id {direction} LIMIT %s) AS page ON true"
    ).format(
        columns=sql.SQL(_TASK_COLUMNS),
        where=sql.SQL(" AND ").join(conditions),
        column=column,
        direction=direction,
    )
    params.append(listing.limit)
    return query, params


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


_ACTIVITY = """
SELECT d::date, coalesce(sum(a.created), 0), coalesce(sum(a.completed), 0), coalesce(sum(a.deleted), 0)
FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d
LEFT JOIN task_activity a ON a.day = d::date AND (%(owner)s::uuid IS NULL OR a.owner_id = %(owner)s)
GROUP BY d ORDER BY d
"""


class PostgresActivityReadModel:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def activity(self, owner_id: UUID | None, first: date, last: date) -> ActivityReport:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(_ACTIVITY, {"first": first, "last": last, "owner": owner_id})
            days = [ActivityDay(day, int(c), int(done), int(gone)) for day, c, done, gone in await cursor.fetchall()]
            cursor = await conn.execute("SELECT position FROM follower_checkpoints WHERE name = 'task_activity'")
            row = await cursor.fetchone()
        return ActivityReport(data=days, as_of_position=int(row[0]) if row else 0)


_REFUND_COLUMNS = "id, task_id, amount, currency, status, attempts, last_error, requested_at, completed_at"


def _refund(row: tuple[Any, ...]) -> RefundView:
    id_, task_id, amount, currency, status, attempts, last_error, requested_at, completed_at = row
    return RefundView(
        id=id_,
        task_id=task_id,
        amount=amount,
        currency=currency,
        status=RefundStatus(status),
        attempts=attempts,
        last_error=last_error,
        requested_at=requested_at,
        completed_at=completed_at,
    )


class PostgresRefundReadModel:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get(self, refund_id: UUID) -> RefundView | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(f"SELECT {_REFUND_COLUMNS} FROM refunds_view WHERE id = %s", (refund_id,))
            row = await cursor.fetchone()
        return _refund(row) if row else None

    async def get_with_owner(self, refund_id: UUID) -> tuple[RefundView, UUID] | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_REFUND_COLUMNS}, owner_id FROM refunds_view WHERE id = %s", (refund_id,)
            )
            row = await cursor.fetchone()
        return (_refund(row[:-1]), row[-1]) if row else None

    async def dead_letters(self, limit: int, after: tuple[datetime, UUID] | None) -> list[RefundView]:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_REFUND_COLUMNS} FROM refunds_view WHERE status = 'FAILED' AND NOT dismissed"
                " AND (%s::timestamptz IS NULL OR (completed_at, id) > (%s, %s))"
                " ORDER BY completed_at, id LIMIT %s",
                (*(after or (None, None))[:1], *(after or (None, None)), limit),
            )
            rows = await cursor.fetchall()
        return [_refund(row) for row in rows]

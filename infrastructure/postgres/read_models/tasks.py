"""The task read model over tasks_view: one task, keyset pages of tasks, and their counts."""

import functools
from typing import Any
from uuid import UUID

import msgspec
import psycopg

from application.errors import InvalidInput
from application.views import RefundView, TaskFilter, TaskListing, TaskRows, TaskStats, TaskView
from domain.values import Money, Priority, TaskStatus
from infrastructure.postgres.pool import Pool, translated_errors

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


def _visible(listing: TaskListing) -> tuple[str, list[Any]]:
    if listing.snapshot is None:
        # The first page: the current versions, read in this statement's own snapshot.
        return "valid_to IS NULL", []
    return (
        "pg_visible_in_snapshot(valid_from, %s::pg_snapshot)"
        " AND (valid_to IS NULL OR NOT pg_visible_in_snapshot(valid_to, %s::pg_snapshot))",
        [listing.snapshot, listing.snapshot],
    )


def _filters(task_filter: TaskFilter) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []

    def where(condition: str, *values: Any) -> None:
        conditions.append(condition)
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


def task_page_query(listing: TaskListing) -> tuple[str, list[Any]]:
    """The one SQL statement of a page: filters, keyset position and order, all on indexed columns."""
    visible, params = _visible(listing)
    conditions, filter_params = _filters(listing.filter)
    params += filter_params
    column = _SORT_COLUMNS[listing.sort.value.removeprefix("-")]
    if listing.after is not None:
        params += list(listing.after)
    params.append(listing.limit)
    return _page_text((visible, *conditions), column, listing.sort.descending, listing.after is not None), params


@functools.lru_cache(maxsize=256)
def _page_text(conditions: tuple[str, ...], column: str, descending: bool, after: bool) -> str:
    """A page statement's text, made once per shape (every piece is one of this module's constants, never input):
    psycopg renders a composed statement again on every execution."""
    direction = "DESC" if descending else "ASC"
    if after:
        key = _KEY_PLACEHOLDERS.get(column, "%s")
        conditions += (f"({column}, id) {'<' if descending else '>'} ({key}, %s)",)
    # The table's identity comes back even for an empty page: a rebuild replaces the table, and a walk begun on
    # the old one must start again rather than read the new one through the old snapshot.
    return (
        "SELECT page.*, table_epoch.epoch FROM (SELECT 'tasks_view'::regclass::oid::bigint AS epoch) AS table_epoch"
        f" LEFT JOIN LATERAL (SELECT {_TASK_COLUMNS}, pg_current_snapshot()::text AS snapshot FROM tasks_view"
        f" WHERE {' AND '.join(conditions)} ORDER BY {column} {direction}, id {direction} LIMIT %s) AS page ON true"
    )

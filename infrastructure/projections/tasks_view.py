"""tasks_view: a row per version of each live task, written set-based (one statement per kind of change)."""

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from application.records import RecordedEvent
from infrastructure.projections.changes import reduce_changes

TABLE = "tasks_view"


def effect(type_: str, data: dict[str, Any]) -> tuple[str, dict[str, Any] | None] | None:
    if type_ == "TaskCreated":
        return "create", data
    if type_ == "TaskUpdated":
        return "patch", data
    if type_ == "TaskCompleted":
        return "patch", {"status": "COMPLETED"}
    if type_ == "TaskDeleted":
        return "delete", None
    if type_ == "TaskRefundRequested":
        return "patch", {}  # the refund has its own table; the task's version moves on
    return None


_INSERT = """
INSERT INTO {table} (id, owner_id, title, description, status, priority, due_date, fee_amount, fee_currency,
                     version, created_at, updated_at)
SELECT id, (r->>'ownerId')::uuid, r->>'title', r->>'description', coalesce(r->>'status', 'PENDING'),
       coalesce(r->>'priority', 'MEDIUM'), (r->>'dueDate')::timestamptz, (r->'fee'->>'amount')::bigint,
       r->'fee'->>'currency', v, c, u
FROM unnest(%s::uuid[], %s::jsonb[], %s::int[], %s::timestamptz[], %s::timestamptz[]) AS i(id, r, v, c, u)
"""


def _patched(field: str, column: str, cast: str = "") -> str:
    return f"CASE WHEN p ? '{field}' THEN (p->>'{field}'){cast} ELSE o.{column} END"


# A change supersedes the current version (kept for walks in progress) and inserts the next one.
_UPDATE = f"""
WITH old AS (
    UPDATE {{table}} AS t SET valid_to = pg_current_xact_id(), superseded_at = now()
    FROM unnest(%s::uuid[]) AS i(id)
    WHERE t.id = i.id AND t.valid_to IS NULL
    RETURNING t.*
)
INSERT INTO {{table}} (id, owner_id, title, description, status, priority, due_date, fee_amount, fee_currency,
                       version, created_at, updated_at)
SELECT o.id, o.owner_id,
       {_patched("title", "title")},
       {_patched("description", "description")},
       {_patched("status", "status")},
       {_patched("priority", "priority")},
       {_patched("dueDate", "due_date", "::timestamptz")},
       CASE WHEN p ? 'fee' THEN (p->'fee'->>'amount')::bigint ELSE o.fee_amount END,
       CASE WHEN p ? 'fee' THEN p->'fee'->>'currency' ELSE o.fee_currency END,
       v, o.created_at, u
FROM old o JOIN unnest(%s::uuid[], %s::jsonb[], %s::int[], %s::timestamptz[]) AS i(id, p, v, u) USING (id)
"""

_DELETE = """
UPDATE {table} SET valid_to = pg_current_xact_id(), superseded_at = now()
WHERE id = ANY(%s) AND valid_to IS NULL
"""


async def apply(conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent], table: str = TABLE) -> None:
    """Apply task events to `table` (the live table, or a fresh one during a rebuild)."""
    changes = reduce_changes(records, effect)
    created = [c for c in changes if c.row is not None and not c.deleted]
    patched = [c for c in changes if c.row is None and not c.deleted]
    deleted = [c.id for c in changes if c.deleted]
    if created:
        await conn.execute(
            _INSERT.format(table=table),
            (
                [c.id for c in created],
                [Jsonb(c.row) for c in created],
                [c.version for c in created],
                [c.created_at for c in created],
                [c.at for c in created],
            ),
        )
    if patched:
        await conn.execute(
            _UPDATE.format(table=table),
            (
                [c.id for c in patched],
                [c.id for c in patched],
                [Jsonb(c.patch) for c in patched],
                [c.version for c in patched],
                [c.at for c in patched],
            ),
        )
    if deleted:
        await conn.execute(_DELETE.format(table=table), (deleted,))

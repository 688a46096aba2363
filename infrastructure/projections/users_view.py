"""users_view: one row per registered user."""

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from application.records import RecordedEvent
from infrastructure.projections.changes import reduce_changes

TABLE = "users_view"


def effect(type_: str, data: dict[str, Any]) -> tuple[str, dict[str, Any] | None] | None:
    if type_ == "UserRegistered":
        return "create", data
    if type_ == "UserRoleChanged":
        return "patch", data
    return None


_INSERT = """
INSERT INTO {table} (id, email, name, role, version, created_at, updated_at)
SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::int[], %s::timestamptz[], %s::timestamptz[])
"""

_UPDATE = """
UPDATE {table} AS t SET role = coalesce(i.role, t.role), version = i.v, updated_at = i.u
FROM unnest(%s::uuid[], %s::text[], %s::int[], %s::timestamptz[]) AS i(id, role, v, u)
WHERE t.id = i.id
"""


async def apply(conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent], table: str = TABLE) -> None:
    """Apply user events to `table`."""
    changes = reduce_changes(records, effect)
    created = [c for c in changes if c.row is not None]
    patched = [c for c in changes if c.row is None]
    if created:
        rows = [c.row or {} for c in created]
        await conn.execute(
            _INSERT.format(table=table),
            (
                [c.id for c in created],
                [r["email"] for r in rows],
                [r["name"] for r in rows],
                [r["role"] for r in rows],
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
                [c.patch.get("role") for c in patched],
                [c.version for c in patched],
                [c.at for c in patched],
            ),
        )

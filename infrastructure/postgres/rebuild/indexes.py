"""The rebuild's index phase: the live table's indexes and keys, built on the new table under `__next` names."""

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import NamedTuple

from psycopg import sql

from infrastructure.postgres.rebuild.tables import SUFFIX, Connection, working_connection

INDEX_CONNECTIONS = 2  # index builds side by side (PostgreSQL may add parallel workers to each)


class _Index(NamedTuple):
    name: str
    table: str
    definition: str  # on the new table, under the new name
    constraint: str | None
    kind: str | None


async def build_indexes(
    database_url: str, conn: Connection, tables: Sequence[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Recreate the live indexes and keys on the new tables, INDEX_CONNECTIONS builds at a time; returns the
    (index, table) and (key, table) names."""
    wanted: list[_Index] = []
    for table in tables:
        cursor = await conn.execute(
            "SELECT i.indexname, i.indexdef, c.conname, c.contype FROM pg_indexes i"
            " LEFT JOIN pg_constraint c ON c.conname = i.indexname AND c.conrelid = %s::regclass"
            " WHERE i.tablename = %s AND i.schemaname = current_schema()",
            (table, table),
        )
        for index, definition, constraint, kind in await cursor.fetchall():
            fresh = definition.replace(f"INDEX {index} ON ", f"INDEX {index}{SUFFIX} ON ", 1).replace(
                f".{table} ", f".{table}{SUFFIX} ", 1
            )
            wanted.append(_Index(index, table, fresh, constraint, kind))
    # The slowest builds (GIN, GiST: not btree) first, so the btrees fill the other connections meanwhile.
    queue = iter(sorted(wanted, key=lambda index: " USING btree " in index.definition))

    async def build(builder: Connection) -> None:
        for index in queue:
            await builder.execute(index.definition)

    async with AsyncExitStack() as stack:
        builders = [conn]
        for _ in range(INDEX_CONNECTIONS - 1):
            builders.append(await stack.enter_async_context(working_connection(database_url)))
        async with asyncio.TaskGroup() as tasks:
            for builder in builders:
                tasks.create_task(build(builder))
    keys: list[tuple[str, str]] = []
    for index in wanted:
        if index.constraint:
            key = "PRIMARY KEY" if index.kind == "p" else "UNIQUE"
            await conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} " + key + " USING INDEX {}").format(
                    sql.Identifier(index.table + SUFFIX),
                    sql.Identifier(index.constraint + SUFFIX),
                    sql.Identifier(index.name + SUFFIX),
                )
            )
            keys.append((index.constraint, index.table))
    return [(index.name, index.table) for index in wanted], keys

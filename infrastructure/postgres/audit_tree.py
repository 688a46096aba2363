"""The log's Merkle tree in PostgreSQL: the follower that grows it, and the reader proofs are built from."""

from collections.abc import Collection, Sequence
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application import rfc6962
from application.projections.registry import AUDIT_TREE
from application.records import RecordedEvent
from infrastructure.postgres.pool import Pool, translated_errors

Connection = psycopg.AsyncConnection[TupleRow]

_SIZE = "SELECT coalesce(max(index) + 1, 0) FROM audit_tree_nodes WHERE level = 0"
_NODES = """
SELECT n.level, n.index, n.hash FROM unnest(%s::smallint[], %s::bigint[]) AS wanted (level, index)
JOIN audit_tree_nodes n ON n.level = wanted.level AND n.index = wanted.index
"""
_COPY_NODES = "COPY audit_tree_nodes (level, index, hash) FROM STDIN (FORMAT BINARY)"
_COPY_LEAVES = "COPY audit_tree_leaves (position, leaf_index, stream_id, version) FROM STDIN (FORMAT BINARY)"


async def tree_size(conn: Connection) -> int:
    cursor = await conn.execute(_SIZE)
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def read_nodes(conn: Connection, wanted: Collection[rfc6962.Node]) -> dict[rfc6962.Node, bytes]:
    """The stored hashes of the `wanted` subtrees (one query, a primary-key probe each); absent ones are left out."""
    if not wanted:
        return {}
    levels, indexes = zip(*wanted, strict=True)
    cursor = await conn.execute(_NODES, (list(levels), list(indexes)))
    return {(level, index): bytes(hash_) for level, index, hash_ in await cursor.fetchall()}


class AuditTreeFollower:
    """Appends each committed event, in commit order, as the next leaf (SHA-256(0x00 || events.hash)) and writes the
    complete subtrees it completes, in the batch's transaction with its checkpoint: appends never touch the tree."""

    name = AUDIT_TREE.name

    async def handle(self, conn: Connection, records: Sequence[RecordedEvent]) -> None:
        size = await tree_size(conn)
        edge = await read_nodes(conn, rfc6962.edge(size))
        frontier = rfc6962.Frontier(size, {level: hash_ for (level, _), hash_ in edge.items()})
        nodes: list[tuple[int, int, bytes]] = []
        leaves: list[tuple[int, int, UUID, int]] = []
        for record in records:
            leaves.append((record.position, frontier.size, record.stream_id, record.version))
            nodes += frontier.append(rfc6962.leaf_hash(record.hash))
        await _copy(conn, _COPY_NODES, ("int2", "int8", "bytea"), nodes)
        await _copy(conn, _COPY_LEAVES, ("int8", "int8", "uuid", "int4"), leaves)


async def _copy(conn: Connection, statement: str, types: Sequence[str], rows: Sequence[tuple[object, ...]]) -> None:
    """Binary COPY: psycopg formats the rows in C, faster than an INSERT of arrays."""
    async with conn.cursor().copy(statement) as writer:
        writer.set_types(list(types))
        for row in rows:
            await writer.write_row(row)


class PostgresAuditTree:
    """The stored tree, read: its size, the subtrees a root or proof needs, and an event's leaf."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def size(self) -> int:
        async with translated_errors(), self._pool.connection() as conn:
            return await tree_size(conn)

    async def nodes(self, wanted: Collection[rfc6962.Node]) -> dict[rfc6962.Node, bytes]:
        async with translated_errors(), self._pool.connection() as conn:
            return await read_nodes(conn, wanted)

    async def leaf_index(self, position: int) -> int | None:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute("SELECT leaf_index FROM audit_tree_leaves WHERE position = %s", (position,))
            row = await cursor.fetchone()
        return int(row[0]) if row else None

"""The write path's candidates: a create's three writes as one statement of CTEs in autocommit, as BEGIN + statements
+ COMMIT, and as that transaction in a pipeline (bench/writes.py's "candidates" part)."""

import asyncio
import json
import secrets
import time
from typing import Any
from uuid import UUID, uuid4

import psycopg

from infrastructure.postgres.pool import open_pool

_CANDIDATE_EVENT = (
    "INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)"
    " VALUES (%(id)s, 'task', 1, 'TaskCreated', 2, %(data)s::jsonb, %(metadata)s::jsonb, now(), %(hash)s)"
)
_CANDIDATE_ROW = (
    "INSERT INTO tasks_view (id, owner_id, title, status, priority, version, created_at, updated_at)"
    " VALUES (%(id)s, %(owner)s, 'bench task', 'PENDING', 'MEDIUM', 1, now(), now())"
)
_CANDIDATE_COUNTS = (
    "INSERT INTO task_counters AS c (owner_id, stripe, total, pending, in_progress, completed, high_priority)"
    " VALUES (%(owner)s, %(stripe)s, 1, 1, 0, 0, 0) ON CONFLICT (owner_id, stripe)"
    " DO UPDATE SET total = c.total + 1, pending = c.pending + 1"
)
_CANDIDATE_STATEMENT = f"WITH e AS ({_CANDIDATE_EVENT}), v AS ({_CANDIDATE_ROW}) {_CANDIDATE_COUNTS}"


async def write_candidates(
    url: str, clients: int, seconds: float, owner: UUID, metadata_json: str
) -> dict[str, dict[str, float]]:
    """Creates per second and Python CPU per create (µs) of each way to send a create's writes (one owner's tasks, each
    event with the same metadata)."""

    def params() -> dict[str, Any]:
        task_id = uuid4()
        return {
            "id": task_id,
            "owner": owner,
            "stripe": task_id.bytes[15] % 16,
            "data": json.dumps({"ownerId": str(owner), "title": "bench task", "fee": None}),
            "metadata": metadata_json,
            "hash": secrets.token_bytes(32),
        }

    async def statement(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(_CANDIDATE_STATEMENT, params())

    async def transaction(conn: psycopg.AsyncConnection[Any]) -> None:
        values = params()
        async with conn.transaction():
            for query in (_CANDIDATE_EVENT, _CANDIDATE_ROW, _CANDIDATE_COUNTS):
                await conn.execute(query, values)

    async def pipeline(conn: psycopg.AsyncConnection[Any]) -> None:
        values = params()
        async with conn.pipeline(), conn.transaction():
            for query in (_CANDIDATE_EVENT, _CANDIDATE_ROW, _CANDIDATE_COUNTS):
                await conn.execute(query, values)

    found: dict[str, dict[str, float]] = {}
    async with open_pool(url, size=clients, checkout_seconds=30.0) as pool:
        for name, send in (("statement", statement), ("transaction", transaction), ("pipeline", pipeline)):
            done = 0

            async def client(until: float, counted: bool, send: Any = send) -> None:
                nonlocal done
                while time.perf_counter() < until:
                    async with pool.connection() as conn:
                        await send(conn)
                    done += counted

            await asyncio.gather(*(client(time.perf_counter() + 1.0, False) for _ in range(clients)))
            started, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(client(started + seconds, True) for _ in range(clients)))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            found[name] = {"rate": done / elapsed, "cpu_us": 1e6 * cpu / max(done, 1)}
    return found

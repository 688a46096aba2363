"""The cache-invalidation backstop: a log follower that applies every task change's invalidation again.

A commit bumps the cache generations it touches before the client hears back; if the process dies between the
commit and Redis, or Redis refuses, this follower (in the projector process) bumps them again within about a
second of the commit, so no instance serves an older value for longer than that.
"""

from collections.abc import Sequence

import psycopg
from psycopg.rows import TupleRow

from application.records import RecordedEvent
from domain import refunds, tasks
from infrastructure.cache import TaskCache
from infrastructure.projections.task_activity import owners_of

NAME = "cache_backstop"


class CacheBackstop:
    name = NAME

    def __init__(self, cache: TaskCache) -> None:
        self._cache = cache

    async def handle(self, conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent]) -> None:
        task_ids = {r.stream_id for r in records if r.stream_type == tasks.STREAM_TYPE}
        refund_ids = list({r.stream_id for r in records if r.stream_type == refunds.STREAM_TYPE})
        owners = set((await owners_of(conn, list(task_ids))).values()) if task_ids else set()
        if refund_ids:
            # A refund shows on its task: the task's cached views are stale too.
            cursor = await conn.execute(
                "SELECT (data->>'taskId')::uuid, (data->>'ownerId')::uuid FROM events"
                " WHERE stream_id = ANY(%s) AND version = 1",
                (refund_ids,),
            )
            for task_id, owner_id in await cursor.fetchall():
                task_ids.add(task_id)
                owners.add(owner_id)
        if not task_ids:
            return
        await self._cache.tasks_changed(task_ids, owners)
        if not await self._cache.flush():
            # Not sent: fail the batch, so the checkpoint stays and the batch comes again.
            raise RuntimeError("cache invalidations not sent; Redis did not answer")

"""The cache-invalidation backstop: a log follower that applies every task change's invalidation again.

A commit bumps the cache generations it touches before the client hears back; if the process dies between the
commit and Redis, or Redis refuses, this follower (in the projector process) bumps them again within about a
second of the commit, so no instance serves an older value for longer than that.
"""

from collections.abc import Sequence

import psycopg
from psycopg.rows import TupleRow

from application.records import RecordedEvent
from domain import tasks
from infrastructure.cache import TaskCache
from infrastructure.projections.task_activity import owners_of

NAME = "cache_backstop"


class CacheBackstop:
    name = NAME

    def __init__(self, cache: TaskCache) -> None:
        self._cache = cache

    async def handle(self, conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent]) -> None:
        task_ids = list({r.stream_id for r in records if r.stream_type == tasks.STREAM_TYPE})
        if not task_ids:
            return
        owners = await owners_of(conn, task_ids)
        await self._cache.tasks_changed(task_ids, set(owners.values()))
        if not await self._cache.flush():
            # Not sent: fail the batch, so the checkpoint stays and the batch comes again.
            raise RuntimeError("cache invalidations not sent; Redis did not answer")

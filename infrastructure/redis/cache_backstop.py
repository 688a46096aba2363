"""The cache-invalidation backstop: a log follower that applies every task change's invalidation again."""

from collections.abc import Sequence
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.projections.registry import CACHE_BACKSTOP
from application.records import RecordedEvent
from domain import refunds, tasks
from infrastructure.postgres.projections.followed import followed_events
from infrastructure.redis.cache import TaskCache


class CacheBackstop:
    """Bumps again, about a second after each commit, the cache generations the commit bumped: a process that died
    between the commit and Redis, or a Redis that refused, leaves no instance serving an older value for longer."""

    name = CACHE_BACKSTOP.name

    def __init__(self, cache: TaskCache) -> None:
        self._cache = cache

    async def handle(self, conn: psycopg.AsyncConnection[TupleRow], records: Sequence[RecordedEvent]) -> None:
        task_ids: set[UUID] = set()
        owners: set[UUID] = set()
        for record, _, _, after in await followed_events(conn, records, CACHE_BACKSTOP.stream_types, True):
            assert after is not None, "followed with its state"
            state = after.state
            # A refund shows on its task: the task's cached views are stale too.
            if isinstance(state, tasks.Task):
                task_ids.add(record.stream_id)
            elif isinstance(state, refunds.Refund) and state.task_id is not None:
                task_ids.add(state.task_id)
            if state.owner_id is not None:
                owners.add(state.owner_id)
        if not task_ids:
            return
        await self._cache.tasks_changed(task_ids, owners)
        if not await self._cache.flush():
            # Not sent: fail the batch, so the checkpoint stays and the batch comes again.
            raise RuntimeError("cache invalidations not sent; Redis did not answer")

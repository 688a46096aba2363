"""The overdue check in the scheduler process: its unit of work, which takes due tasks FOR UPDATE SKIP LOCKED from
task_deadlines, and its loop, a run at start and one every TASKFLOW_OVERDUE_CHECK_SECONDS.

The scheduler's own loop rather than a Taskiq scheduled task: the check needs only PostgreSQL, which already
shares the work out between schedulers (SKIP LOCKED) and makes each batch whole or nothing, so every scheduler
runs it and any one may die. Taskiq's scheduler must run as a single instance (its documentation's warning) and
would add Redis, a message and a worker between the clock and the check, each a way to lose or repeat a tick.
"""

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Self
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from application.overdue import OverdueCheck, mark_overdue_tasks
from infrastructure.unit_of_work import Begin, PostgresUnitOfWork

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0

# Earliest due first, through task_deadlines_due_idx; rows another check holds are passed over, not waited for.
DUE_TASKS = "SELECT id FROM task_deadlines WHERE due_date < %s ORDER BY due_date LIMIT %s FOR UPDATE SKIP LOCKED"


class PostgresDueTasks:
    def __init__(self, conn: psycopg.AsyncConnection[TupleRow], begin: Begin) -> None:
        self._conn = conn
        self._begin = begin

    async def take(self, now: datetime, limit: int) -> list[UUID]:
        await self._begin()  # the row locks last until the unit of work ends
        cursor = await self._conn.execute(DUE_TASKS, (now, limit))
        return [task_id for (task_id,) in await cursor.fetchall()]


class PostgresOverdueUnitOfWork(PostgresUnitOfWork):
    """The unit of work of one batch of the check: its due tasks are taken in its own transaction."""

    due_tasks: PostgresDueTasks

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        assert self._conn is not None, "entered"
        self.due_tasks = PostgresDueTasks(self._conn, self._begin)
        return self


async def check_overdue_every(check: OverdueCheck, period_seconds: float, stop: asyncio.Event) -> None:
    """Run the check now (catching up on whatever fell due while no scheduler ran), then every `period_seconds`
    from the start of the last run, until `stop`."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        try:
            await mark_overdue_tasks(check, stop.is_set)
        except Exception:  # a dependency is down: the batch rolled back whole, and its tasks come again
            log.warning("overdue check failed; retrying", exc_info=True)
            await _sleep(stop, RETRY_SECONDS)
            continue
        await _sleep(stop, period_seconds - (loop.time() - started))


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))

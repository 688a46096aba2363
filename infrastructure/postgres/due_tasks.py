"""The overdue check's unit of work: it takes due tasks from task_deadlines, FOR UPDATE SKIP LOCKED."""

from datetime import datetime
from typing import Self
from uuid import UUID

import psycopg
from psycopg.rows import TupleRow

from infrastructure.postgres.unit_of_work import Begin, PostgresUnitOfWork

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

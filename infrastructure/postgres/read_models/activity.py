"""The task activity read model: created, completed and deleted per UTC day, from the task_activity follower."""

from datetime import date
from uuid import UUID

from application.views import ActivityDay, ActivityReport
from infrastructure.postgres.pool import Pool, translated_errors

_ACTIVITY = """
SELECT d::date, coalesce(sum(a.created), 0), coalesce(sum(a.completed), 0), coalesce(sum(a.deleted), 0)
FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d
LEFT JOIN task_activity a ON a.day = d::date AND (%(owner)s::uuid IS NULL OR a.owner_id = %(owner)s)
GROUP BY d ORDER BY d
"""


class PostgresActivityReadModel:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def activity(self, owner_id: UUID | None, first: date, last: date) -> ActivityReport:
        async with translated_errors(), self._pool.connection() as conn:
            cursor = await conn.execute(_ACTIVITY, {"first": first, "last": last, "owner": owner_id})
            days = [ActivityDay(day, int(c), int(done), int(gone)) for day, c, done, gone in await cursor.fetchall()]
            cursor = await conn.execute("SELECT position FROM follower_checkpoints WHERE name = 'task_activity'")
            row = await cursor.fetchone()
        return ActivityReport(data=days, as_of_position=int(row[0]) if row else 0)

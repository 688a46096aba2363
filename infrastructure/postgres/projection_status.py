"""Where each projection stands: inline ones move with every append; followers have a checkpoint and a lag."""

from application.projections.kinds import Mode
from application.projections.registry import PROJECTIONS
from application.views import ProjectionState
from infrastructure.postgres.followers import HELD_LOCK, lock_key
from infrastructure.postgres.pool import Pool, translated_errors

# Counting the lag stops here: past it, the exact figure matters less than the fact.
LAG_CAP = 100_000


_FOLLOWER = f"""
SELECT c.position,
       (SELECT count(*) FROM (SELECT 1 FROM events e
                              WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)
                              LIMIT %(cap)s) AS behind),
       EXISTS (SELECT 1 FROM pg_locks l WHERE {HELD_LOCK})
FROM follower_checkpoints c WHERE c.name = %(name)s
"""


class PostgresProjectionMonitor:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def states(self) -> list[ProjectionState]:
        return await projection_states(self._pool)


async def projection_states(pool: Pool) -> list[ProjectionState]:
    async with translated_errors(), pool.connection() as conn:
        cursor = await conn.execute("SELECT coalesce(max(position), 0) FROM events")
        row = await cursor.fetchone()
        head = int(row[0]) if row else 0
        states: list[ProjectionState] = []
        for projection in PROJECTIONS:
            name = projection.name
            if projection.mode is Mode.INLINE:
                states.append(ProjectionState(name, head, 0, "inline"))
                continue
            cursor = await conn.execute(_FOLLOWER, {"name": name, "lock_key": lock_key(name), "cap": LAG_CAP})
            found = await cursor.fetchone()
            if found is None:
                states.append(ProjectionState(name, 0, head, "stopped"))
                continue
            position, lag, running = found
            states.append(ProjectionState(name, int(position), int(lag), "running" if running else "stopped"))
    return states

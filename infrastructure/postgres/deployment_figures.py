"""The deployment's figures for /metrics, read from PostgreSQL: the same answer from every API instance."""

import asyncio
import logging
import math
import time

from infrastructure.metrics import DeploymentFigures
from infrastructure.postgres.pool import Pool
from infrastructure.postgres.projection_status import projection_states

log = logging.getLogger(__name__)

_JOBS = """
SELECT (SELECT count(*) FROM refund_jobs WHERE done_at IS NOT NULL),
       (SELECT count(*) FROM refund_jobs WHERE attempt > 1),
       (SELECT count(*) FROM refund_jobs WHERE done_at IS NULL),
       (SELECT count(*) FROM refunds_view WHERE status = 'FAILED' AND NOT dismissed)
"""


async def deployment_figures(pool: Pool) -> DeploymentFigures:
    states = await projection_states(pool)
    async with pool.connection() as conn:
        cursor = await conn.execute(_JOBS)
        row = await cursor.fetchone()
    attempts, retries, pending, dead = row if row else (0, 0, 0, 0)
    return DeploymentFigures(states, int(attempts), int(retries), int(pending), int(dead))


class DeploymentFiguresCache:
    """The deployment figures read at most once per `max_age_seconds` by this process, however many scrapes
    arrive: scrapes, hurried or many, never take more than one pooled connection from the requests."""

    def __init__(self, pool: Pool, max_age_seconds: float, timeout_seconds: float) -> None:
        self._pool = pool
        self._max_age = max_age_seconds
        self._timeout = timeout_seconds
        self._lock = asyncio.Lock()
        self._figures: DeploymentFigures | None = None
        self._read_at = -math.inf

    async def get(self) -> DeploymentFigures | None:
        """The latest figures; None when PostgreSQL did not give them in time at the last try."""
        async with self._lock:
            if time.monotonic() - self._read_at >= self._max_age:
                try:
                    async with asyncio.timeout(self._timeout):
                        self._figures = await deployment_figures(self._pool)
                except Exception:  # a scrape answers with what this process knows; the gap is a metric of its own
                    log.warning("deployment metrics unavailable", exc_info=True)
                    self._figures = None
                self._read_at = time.monotonic()
            return self._figures

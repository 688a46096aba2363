"""A `taskflow scheduler` process killed with SIGKILL in the middle of its overdue check: every batch it committed
is whole, nothing of the batch it was in is written, and the scheduler started after it marks the rest, each task
once."""

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from application.overdue import BATCH
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.settings import Settings
from tests.e2e.processes import servers_environment, stop_all
from tests.overdue_tasks import assert_read_side_agrees_with_the_log, falling_due, overdue_events

TASKS = 10 * BATCH
OWNER = UUID("00000000-0000-4000-8000-0000000000de")
PAST = datetime(2020, 1, 1, tzinfo=UTC)

# A check inside a batch: its SELECT ... FOR UPDATE holds task_deadlines in ROW SHARE mode until the batch ends.
IN_A_BATCH = """
SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.relation = 'task_deadlines'::regclass AND l.mode = 'RowShareLock' AND a.application_name <> 'probe'
"""


def start_scheduler(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = servers_environment(settings, TASKFLOW_OVERDUE_CHECK_SECONDS="1")
    with log.open("ab") as output:
        return subprocess.Popen([sys.executable, "-m", "cli", "scheduler"], env=env, stdout=output, stderr=output)


def output(log: Path) -> str:
    """What the scheduler wrote, for a failure's message (a small file, read once)."""
    return log.read_text()


async def until(
    predicate: Callable[[], Awaitable[bool]], process: subprocess.Popen[bytes], log: Path, seconds: float = 60.0
) -> None:
    deadline = time.monotonic() + seconds
    while not await predicate():
        assert process.poll() is None, output(log)
        assert time.monotonic() < deadline, output(log)
        await asyncio.sleep(0.01)


async def batch_sizes(pool: Pool) -> list[int]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM events WHERE type = 'TaskBecameOverdue' GROUP BY transaction_id"
        )
        return [count for (count,) in await cursor.fetchall()]


async def test_a_scheduler_killed_mid_check_leaves_whole_batches(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url
    log = tmp_path / "scheduler.log"
    async with open_pool(settings.database_url, size=2, checkout_seconds=10, name="probe") as pool:
        task_ids = await falling_due(pool, OWNER, [PAST + timedelta(seconds=n) for n in range(TASKS)])

        async def inside_a_later_batch() -> bool:
            if len(await overdue_events(pool)) < BATCH:
                return False
            async with pool.connection() as conn:
                await conn.execute("SET application_name = 'probe'")
                cursor = await conn.execute(IN_A_BATCH)
                row = await cursor.fetchone()
            return bool(row and row[0])

        first = start_scheduler(settings, log)
        try:
            await until(inside_a_later_batch, first, log)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            stop_all((first,))
        marked = await overdue_events(pool)
        assert 0 < len(marked) < TASKS, "killed in the middle of the check"
        assert set(await batch_sizes(pool)) == {BATCH}, "only whole batches were committed"
        await assert_read_side_agrees_with_the_log(pool, task_ids)

        second = start_scheduler(settings, log)
        try:

            async def all_marked() -> bool:
                return len(await overdue_events(pool)) == TASKS

            await until(all_marked, second, log)
        finally:
            stop_all((second,))
        assert second.returncode == 0, output(log)
        assert await overdue_events(pool) == dict.fromkeys(task_ids, 1)
        await assert_read_side_agrees_with_the_log(pool, task_ids)

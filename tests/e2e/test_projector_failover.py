"""Two projector processes: one works each follower; kill it with SIGKILL and the other carries on from the
checkpoint, skipping nothing and doing nothing twice."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from application.context import Actor, RequestContext
from application.tasks import CreateTask, create_task
from domain.values import Role
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.followers import lock_key
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.settings import Settings
from tests.e2e.processes import FOLLOWER_PIDS, servers_environment
from tests.integration.test_followers import activity_counts, log_counts
from tests.integration.wiring import deps_over

TAKEOVER_SECONDS = 15.0


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    async with open_pool(database_url, size=2, checkout_seconds=5.0) as opened:
        yield opened


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


def start_projector(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = servers_environment(
        settings,
    )
    with log.open("wb") as output:
        return subprocess.Popen([sys.executable, "-m", "cli", "projector"], env=env, stdout=output, stderr=output)


async def active_pid(pool: Pool) -> int | None:
    """The OS pid of the process whose session holds the task_activity follower's lock."""
    async with pool.connection() as conn:
        cursor = await conn.execute(FOLLOWER_PIDS, {"lock_key": lock_key("task_activity")})
        row = await cursor.fetchone()
    return int(row[0]) if row else None


async def caught_up(pool: Pool, deadline: float) -> None:
    while time.monotonic() < deadline:
        if await activity_counts(pool) == await log_counts(pool):
            return
        await asyncio.sleep(0.2)
    pytest.fail("the projection did not catch up with the log in time")


async def test_the_standby_takes_over_from_the_checkpoint(
    pool: Pool, deps: Dependencies, settings: Settings, tmp_path: Path
) -> None:
    first = start_projector(settings, tmp_path / "first.log")
    second = start_projector(settings, tmp_path / "second.log")
    try:
        ctx = RequestContext(actor=Actor(uuid4(), Role.USER), request_id="failover")
        for n in range(10):
            await create_task(CreateTask(f"before {n}"), ctx, deps.tasks)
        await caught_up(pool, time.monotonic() + TAKEOVER_SECONDS)
        active = await active_pid(pool)
        assert active in (first.pid, second.pid)
        os.kill(active, signal.SIGKILL)
        for n in range(10):
            await create_task(CreateTask(f"after {n}"), ctx, deps.tasks)
        await caught_up(pool, time.monotonic() + TAKEOVER_SECONDS)
        survivor = await active_pid(pool)
        assert survivor is not None
        assert survivor != active
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
                process.wait(20)

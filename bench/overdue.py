"""Overdue benchmark: 100,000 tasks falling due in the same minute, marked by a `taskflow scheduler` process.

Every task falls due within one minute, the one before the scheduler starts, so its first run (at its start) has
them all to mark: the worst case a scheduler meets, since a run that begins just as that minute ends finds every
task the run before it (one period earlier) left. Each task is then marked at most one period plus the length of
that run after it fell due, and the target, all marked within two check periods, holds when one run of all of
them takes no longer than one period (TASKFLOW_OVERDUE_CHECK_SECONDS, 60 by default).

Measured: from the scheduler process's start (its start-up included) to the commit of the last of its batches,
polled every 0.1 s; and the run's own span, from its first batch to its last (the events' recorded times).
Writes bench/results/overdue.json.

    python bench/overdue.py [--tasks 100000] [--owners 1000]
"""

import argparse
import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
import psycopg
from reads import RESULTS, database, servers, service_environment

from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.postgres.pool import open_pool
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.settings import Settings

APPEND = 5000  # creations a statement
# The scheduler runs with the default TASKFLOW_OVERDUE_CHECK_SECONDS.
PERIOD_SECONDS = next(f.default for f in msgspec.structs.fields(Settings) if f.name == "overdue_check_seconds")
MARKED = "SELECT count(*), min(recorded_at), max(recorded_at) FROM events WHERE type = 'TaskBecameOverdue'"


async def falling_due(url: str, count: int, owners: int, minute: datetime) -> None:
    """`count` open tasks of `owners` owners, due evenly across the minute that begins at `minute`."""
    people = [uuid4() for _ in range(owners)]
    async with open_pool(url, size=2, checkout_seconds=60.0) as pool:
        for start in range(0, count, APPEND):
            appends = []
            for n in range(start, min(count, start + APPEND)):
                due = minute + timedelta(seconds=60 * n / count)
                owner: UUID = people[n % owners]
                created = tasks.TaskCreated(owner_id=owner, title=f"due {n}", due_date=due, fee=None)
                appends.append(StreamAppend(uuid4(), tasks.STREAM_TYPE, 0, [created]))
            async with PostgresUnitOfWork(pool) as uow:
                await uow.events.append(appends, EventMetadata(actor_id="bench"), datetime.now(UTC))


def mark(url: str, redis_url: str, count: int) -> dict[str, Any]:
    """Start a scheduler and wait until it has marked `count` tasks."""
    env = service_environment(url, redis_url)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "cli", "scheduler"], env=env)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                marked, first, last = conn.execute(MARKED).fetchone() or (0, None, None)
                if marked >= count:
                    break
                assert process.poll() is None, "the scheduler stopped"
                time.sleep(0.1)
        seconds = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(60)
    span = (last - first).total_seconds() if first and last else 0.0
    return {"tasks": count, "seconds_to_mark": seconds, "run_span_seconds": span, "period_seconds": PERIOD_SECONDS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=1000)
    options = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds")}
    with servers() as (admin_url, redis_url), database(admin_url) as url:
        minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        asyncio.run(falling_due(url, options.tasks, options.owners, minute))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        results["marked"] = mark(url, redis_url, options.tasks)
    (RESULTS / "overdue.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

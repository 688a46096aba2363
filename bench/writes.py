"""Write-side benchmark: appends, POST /tasks, batch completion, and append latency with a long log.

Every figure has a baseline measured in the same run on the same database server:
- appends of one event to a new stream through the project's own EventStore at 1, 8 and 32 concurrent clients,
  against pgbench inserting the same row at the same concurrency, and against the `eventsourcing` library's
  PostgreSQL application recorder doing the same appends;
- POST /tasks at 32 connections (wrk, against `taskflow serve`) against pgbench running the same transaction
  (one event row and one read-model row);
- one batch completion of 1,000 tasks against 1,000 single completions (the application's handlers);
- append latency with 10M events already in the log against an empty log.
Writes bench/results/writes.json.

    python bench/writes.py [--seconds 5] [--log-events 10000000] [--parts appends,candidates,post,batch,long-log]
"""

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import psycopg
from batch import measure_batch
from candidates import write_candidates
from reads import (
    RESULTS,
    SECRET,
    database,
    free_port,
    seed,
    serve,
    servers,
    service_environment,
    signed_in,
    wrk,
)

from api.bench_floor import MINIMAL_TABLES
from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.postgres.pool import open_pool
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.settings import Settings

CONCURRENCY = (1, 8, 32)
OWNER = UUID("00000000-0000-4000-8000-00000000b0b0")
METADATA = EventMetadata(actor_id=str(OWNER), correlation_id="bench", causation_id="bench", request_id="bench")
METADATA_JSON = json.dumps(
    {"actorId": str(OWNER), "correlationId": "bench", "causationId": "bench", "requestId": "bench"}
)

# The row the EventStore writes for one TaskCompleted on a new stream of a type no projection reads.
APPEND_SQL = f"""
INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)
VALUES (gen_random_uuid(), 'bench', 1, 'TaskCompleted', 1, '{{}}', '{METADATA_JSON}', now(),
        sha256(random()::text::bytea));
"""

# POST /tasks's transaction: one event row and one read-model row.
CREATE_SQL = f"""
BEGIN;
WITH e AS (
  INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)
  VALUES (gen_random_uuid(), 'task', 1, 'TaskCreated', 2,
          '{{"ownerId":"{OWNER}","title":"bench task","status":"PENDING","priority":"MEDIUM","fee":null}}',
          '{METADATA_JSON}', now(), sha256(random()::text::bytea))
  RETURNING stream_id
)
INSERT INTO tasks_view (id, owner_id, title, status, priority, version, created_at, updated_at)
SELECT stream_id, '{OWNER}', 'bench task', 'PENDING', 'MEDIUM', 1, now(), now() FROM e;
COMMIT;
"""

# The least a create must write, the cheapest way: one event row and one read row, each with only its primary
# key, in one statement (its own transaction). POST /tasks is measured against this floor of the database.
MINIMAL_SQL = """
WITH e AS (INSERT INTO minimal_events (data) VALUES ('{"title":"bench task"}') RETURNING position)
INSERT INTO minimal_reads (id, title) SELECT gen_random_uuid(), 'bench task' FROM e;
"""

# A log of `n` events: streams of 10 events each, spread over transactions as commits would be.
FILL_LOG = """
INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)
SELECT ('00000000-0000-4000-a000-' || lpad(to_hex(i / 10), 12, '0'))::uuid, 'bench', 1 + mod(i, 10), 'TaskCompleted',
       1, '{}', '{}', now(), sha256(i::text::bytea)
FROM generate_series(%s::bigint, %s::bigint) AS i
"""


def pgbench(url: str, script: str, clients: int, seconds: int) -> float:
    """Transactions per second of `script` under pgbench."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    try:
        out = subprocess.run(
            ["pgbench", "-n", "-f", file.name, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(file.name)
    line = next(line for line in out.splitlines() if line.startswith("tps = "))
    return float(line.split()[2])


async def store_appends(url: str, clients: int, seconds: float) -> dict[str, float]:
    """Appends per second of one event to a new stream through PostgresEventStore, `clients` at a time."""
    async with open_pool(url, size=clients, checkout_seconds=30.0) as pool:
        latencies: list[float] = []

        async def client(until: float, record: bool) -> None:
            while time.perf_counter() < until:
                started = time.perf_counter()
                async with PostgresUnitOfWork(pool) as uow:
                    append = StreamAppend(uuid4(), "bench", 0, [tasks.TaskCompleted()])
                    await uow.events.append([append], METADATA, datetime.now(UTC))
                if record:
                    latencies.append(time.perf_counter() - started)

        warm = time.perf_counter() + 1.0
        await asyncio.gather(*(client(warm, False) for _ in range(clients)))
        started = time.perf_counter()
        await asyncio.gather(*(client(started + seconds, True) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
    }


def eventsourcing_appends(url: str, clients: int, seconds: float) -> float:
    """Appends per second of one event to a new aggregate through eventsourcing's PostgreSQL recorder."""
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    datastore = PostgresDatastore(
        parts.path.lstrip("/"),
        parts.hostname or "127.0.0.1",
        parts.port or 5432,
        parts.username or "postgres",
        parts.password or "",
        pool_size=clients,
    )
    recorder = PostgresApplicationRecorder(datastore, events_table_name=f"es_events_{clients}")
    recorder.create_table()
    counts = [0] * clients

    def client(index: int, until: float) -> None:
        while time.perf_counter() < until:
            recorder.insert_events([StoredEvent(uuid4(), 1, "bench.Completed", b"{}")])
            counts[index] += 1

    def run(until: float) -> None:
        threads = [threading.Thread(target=client, args=(i, until)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    run(time.perf_counter() + 1.0)
    counts[:] = [0] * clients
    started = time.perf_counter()
    run(started + seconds)
    elapsed = time.perf_counter() - started
    datastore.close()
    return sum(counts) / elapsed


def measure_appends(url: str, seconds: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for clients in CONCURRENCY:
        found[str(clients)] = {
            "store": asyncio.run(store_appends(url, clients, seconds)),
            "pgbench": pgbench(url, APPEND_SQL, clients, seconds),
            "eventsourcing": eventsourcing_appends(url, clients, seconds),
        }
        print(f"appends at {clients}: {found[str(clients)]}", flush=True)
    return found


# A create's three writes, as candidates for one round trip: data-modifying CTEs in one statement (what the event
# store sends), BEGIN + three statements + COMMIT one after another, and the same five in a pipeline.
def measure_post(url: str, env: dict[str, str], seconds: int, workers: int) -> dict[str, Any]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.body = \'{"title":"bench task"}\'\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    seed(env)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MINIMAL_TABLES)
    with serve(env | {"TASKFLOW_BENCH_FLOOR": "1"}, workers) as base:
        headers = signed_in(base, "user@example.com", "user123")
        posted = wrk(f"{base}/tasks", headers, 32, seconds, script=str(script))
        floor = wrk(f"{base}/bench/floor", headers, 32, seconds, script=str(script))
    # The whole service: the followers' work on each event (projector, scheduler) is part of a write's cost.
    with serve(env, workers, command="run") as base:
        headers = signed_in(base, "user@example.com", "user123")
        whole = wrk(f"{base}/tasks", headers, 32, seconds, script=str(script))
    return {
        "post_tasks": posted,
        "post_floor": floor,
        "post_tasks_whole_service": whole,
        "pgbench": pgbench(url, CREATE_SQL, 32, seconds),
        "pgbench_minimal": pgbench(url, MINIMAL_SQL, 32, seconds),
    }


def fill_log(url: str, events: int, progress: Callable[[int], None]) -> None:
    """Grow the log to `events` rows in chunks (each chunk one transaction, as many commits would be)."""
    chunk = 1_000_000
    with psycopg.connect(url, autocommit=True) as conn:
        for first in range(0, events, chunk):
            conn.execute(FILL_LOG, (first, min(events, first + chunk) - 1))
            progress(min(events, first + chunk))
        conn.execute("VACUUM ANALYZE events")
        # Flush the load's dirty pages now, so the measurement after it does not pay for them.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")


def measure_long_log(admin_url: str, events: int, seconds: int) -> dict[str, Any]:
    with database(admin_url) as url:
        fill_log(url, 0, lambda _: None)  # the same VACUUM and CHECKPOINT before both measurements
        empty = asyncio.run(store_appends(url, 1, seconds))
        fill_log(url, events, lambda n: print(f"log filled to {n:,} events", flush=True))
        full = asyncio.run(store_appends(url, 1, seconds))
    return {"events": events, "empty": empty, "full": full}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--log-events", type=int, default=10_000_000)
    parser.add_argument("--parts", default="appends,candidates,post,batch,long-log")
    options = parser.parse_args()
    parts = set(options.parts.split(","))
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds")}
    with servers() as (admin_url, redis_url):
        if "appends" in parts:
            with database(admin_url) as url:
                results["appends"] = measure_appends(url, options.seconds)
        if "post" in parts:
            with database(admin_url) as url:
                env = service_environment(url, redis_url) | {"PORT": str(free_port())}
                results["post"] = measure_post(url, env, options.seconds, options.workers)
                print(f"post: {results['post']}", flush=True)
        if "candidates" in parts:
            with database(admin_url) as url:
                results["candidates"] = {
                    str(clients): asyncio.run(write_candidates(url, clients, options.seconds, OWNER, METADATA_JSON))
                    for clients in (1, 32)
                }
                print(f"write path candidates: {results['candidates']}", flush=True)
        if "batch" in parts:
            with database(admin_url) as url:
                tuned = Settings(
                    database_url=url,
                    redis_url=redis_url,
                    redis_namespace=f"bench-{secrets.token_hex(3)}",
                    jwt_secret=SECRET.encode(),
                    audit_signing_key=secrets.token_bytes(32),
                )
                results["batch"] = asyncio.run(measure_batch(tuned))
                print(f"batch: {results['batch']}", flush=True)
        if "long-log" in parts:
            results["long_log"] = measure_long_log(admin_url, options.log_events, options.seconds)
            print(f"long log: {results['long_log']}", flush=True)
    previous = json.loads((RESULTS / "writes.json").read_text()) if (RESULTS / "writes.json").exists() else {}
    (RESULTS / "writes.json").write_text(json.dumps(previous | results, indent=2))


if __name__ == "__main__":
    main()

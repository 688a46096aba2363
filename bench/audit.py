"""Audit tree benchmark: the audit follower keeping up with appends, and proofs at a million events.

In a database of its own:
1. catch-up: a log of N events (one bulk INSERT ... SELECT) taken into the tree from scratch by the follower, a
   batch at a time as the projector runs it: events per second;
2. paced: a writer process appends RATE events a second (in 100 transactions a second) for SECONDS while the
   follower runs as in the projector (`follow`: NOTIFY, batches of 1,000); the lag (events committed, not yet in
   the tree) is sampled every 100 ms, and again a second after the writer stops;
3. proofs: with the whole log in the tree, inclusion and consistency proofs and signed digests through the
   application's handlers on a pool, as the API serves them (without HTTP): p50 and p99 latency.
Appends are not measured here: they never touch the tree (bench/writes.py measures them).
Writes bench/results/audit.json.

    python bench/audit.py [--events 1000000] [--rate 3000] [--seconds 20] [--proofs 1000]
"""

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from reads import RESULTS, SECRET, database, servers

from application.audit_proofs import consistency_proof, inclusion_proof, latest_digest
from application.context import Actor, RequestContext
from domain.values import Role
from infrastructure.bootstrap import Dependencies, open_runtime
from infrastructure.postgres.audit_tree import AuditTreeFollower, tree_size
from infrastructure.postgres.followers import follow, run_batch
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.settings import Settings

ADMIN = RequestContext(actor=Actor(UUID(int=1), Role.ADMIN), request_id="bench")
TRANSACTIONS_PER_SECOND = 100

# Events of streams of their own, each with a distinct stored hash; `start` keeps the writer's streams apart.
FILL = """
INSERT INTO events (stream_id, stream_type, version, type, data, metadata, recorded_at, hash)
SELECT md5('bench ' || i)::uuid, 'bench', 1, 'TaskCompleted', '{}', '{}', now(), sha256(('event ' || i)::bytea)
FROM generate_series(%(start)s, %(start)s + %(n)s - 1) AS i
"""
LAG = """
SELECT (SELECT coalesce(max(position), 0) FROM events)
     - (SELECT coalesce(max(index) + 1, 0) FROM audit_tree_nodes WHERE level = 0)
"""


def write_paced(url: str, rate: int, seconds: float, start: int, done: "multiprocessing.Queue[float]") -> None:
    """The writer process: `rate` events a second, in TRANSACTIONS_PER_SECOND transactions a second; puts the rate
    it reached."""
    per_transaction = max(1, rate // TRANSACTIONS_PER_SECOND)
    with psycopg.connect(url, autocommit=True) as conn:
        began, written = time.monotonic(), 0
        while (elapsed := time.monotonic() - began) < seconds:
            if written < elapsed * rate:
                conn.execute(FILL, {"n": per_transaction, "start": start + written})
                written += per_transaction
            else:
                time.sleep(per_transaction / rate / 4)
    done.put(written / (time.monotonic() - began))


async def lag(pool: Pool) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(LAG)
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def catch_up(pool: Pool, events: int) -> dict[str, Any]:
    follower, taken, started = AuditTreeFollower(), 0, time.monotonic()
    while handled := await run_batch(pool, follower):
        taken += handled
    seconds = time.monotonic() - started
    return {"events": taken, "seconds": round(seconds, 2), "events_per_second": round(events / seconds)}


async def paced(url: str, pool: Pool, rate: int, seconds: float, start: int) -> dict[str, Any]:
    stop = asyncio.Event()
    following = asyncio.create_task(follow(url, pool, AuditTreeFollower(), stop))
    await asyncio.sleep(1.5)  # active and listening, as a projector that has been running
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    writer = context.Process(target=write_paced, args=(url, rate, seconds, start, done))
    writer.start()
    samples: list[int] = []
    while writer.is_alive():
        samples.append(await lag(pool))
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    after = await lag(pool)
    stop.set()
    await following
    return {
        "rate": rate,
        "achieved_rate": round(done.get()),
        "seconds": seconds,
        "max_lag_events": max(samples),
        "p50_lag_events": statistics.median(samples),
        "lag_after_1s": after,
    }


async def latencies(samples: int, call: Callable[[], Awaitable[object]]) -> dict[str, float]:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"p50_ms": round(timings[len(timings) // 2], 2), "p99_ms": round(timings[int(len(timings) * 0.99)], 2)}


async def proofs(deps: Dependencies, size: int, samples: int) -> dict[str, Any]:
    chosen = random.Random(22)

    def inclusion() -> Awaitable[object]:
        tree_size = chosen.randint(size // 2, size)
        return inclusion_proof(chosen.randint(1, size // 2), tree_size, ADMIN, deps.digests)

    def consistency() -> Awaitable[object]:
        second = chosen.randint(2, size)
        return consistency_proof(chosen.randint(1, second - 1), second, ADMIN, deps.digests)

    return {
        "tree_size": size,
        "inclusion": await latencies(samples, inclusion),
        "consistency": await latencies(samples, consistency),
        "digest": await latencies(samples // 10 or 1, lambda: latest_digest(ADMIN, deps.digests)),
    }


async def measure(url: str, redis_url: str, options: argparse.Namespace) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FILL, {"n": options.events, "start": 0})
        conn.execute("VACUUM ANALYZE events")
    results: dict[str, Any] = {}
    async with open_pool(url, size=4, checkout_seconds=30.0) as pool:
        results["catch_up"] = await catch_up(pool, options.events)
        print(f"catch-up: {results['catch_up']}", flush=True)
        results["paced"] = await paced(url, pool, options.rate, options.seconds, options.events)
        print(f"paced: {results['paced']}", flush=True)
        async with pool.connection() as conn:
            size = await tree_size(conn)
    settings = Settings(
        database_url=url, redis_url=redis_url, jwt_secret=SECRET.encode(), audit_signing_key=b"bench".ljust(32, b".")
    )
    async with open_runtime(settings) as runtime:
        results["proofs"] = await proofs(runtime.deps, size, options.proofs)
    print(f"proofs: {results['proofs']}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--proofs", type=int, default=1000)
    options = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds")}
    with servers() as (admin_url, redis_url), database(admin_url) as url:
        results |= asyncio.run(measure(url, redis_url, options))
    (RESULTS / "audit.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

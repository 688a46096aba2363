"""Rebuild benchmark: events per second and peak memory of `taskflow projections rebuild tasks_view`.

Generates a log of N task events (half TaskCreated, half TaskCompleted) in a database of its own, then times the
rebuild command as an operator runs it and reads its peak resident memory. Writes bench/results/rebuild.json.

    python bench/rebuild.py [--sizes 100000,1000000]
"""

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
from reads import RESULTS, database, servers

# Stream i: TaskCreated (version 1), TaskCompleted (version 2). Hashes are not what a rebuild reads.
FILL = """
INSERT INTO events (stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)
SELECT md5(i::text)::uuid, 'task', v, CASE v WHEN 1 THEN 'TaskCreated' ELSE 'TaskCompleted' END,
       CASE v WHEN 1 THEN 2 ELSE 1 END,
       CASE v WHEN 1 THEN jsonb_build_object(
           'ownerId', ('00000000-0000-4000-8000-' || lpad(mod(i, 1000)::text, 12, '0')), 'title', 'task ' || i,
           'description', NULL, 'status', 'PENDING', 'priority', 'MEDIUM', 'dueDate', NULL, 'fee', NULL)
       ELSE '{}'::jsonb END,
       '{}'::jsonb, now() - (%(n)s - i) * interval '1 second', '\\x00'
FROM generate_series(1, %(n)s) AS i CROSS JOIN generate_series(1, 2) AS v
"""


def measure(url: str, redis_url: str, events: int) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FILL, {"n": events // 2})
        conn.execute("VACUUM ANALYZE events")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFLOW_")} | {
        "TASKFLOW_DATABASE_URL": url,
        "TASKFLOW_REDIS_URL": redis_url,
        "TASKFLOW_JWT_SECRET": secrets.token_urlsafe(48),
        "TASKFLOW_LOG_LEVEL": "WARNING",
    }
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "cli", "projections", "rebuild", "tasks_view"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "peak_rss_mb": round(peak_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    options = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "runs": []}
    with servers() as (admin_url, redis_url):
        for size in (int(s) for s in options.sizes.split(",")):
            with database(admin_url) as url:
                # Each size in a process of its own, so the peak memory is that run's.
                results["runs"].append(measure(url, redis_url, size))
    (RESULTS / "rebuild.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from infrastructure.postgres.migrations import apply_migrations
from infrastructure.processes.embedded_servers import with_servers
from infrastructure.settings import load_settings

RESULTS = Path(__file__).parent / "results"

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


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


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
    with with_servers(load_settings()) as settings:
        assert settings.database_url
        assert settings.redis_url
        admin_url = with_database(settings.database_url, "postgres")
        for size in (int(s) for s in options.sizes.split(",")):
            name = f"taskflow_rebuild_{secrets.token_hex(3)}"
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            try:
                url = with_database(settings.database_url, name)
                apply_migrations(url)
                # Each size in a process of its own, so the peak memory is that run's.
                results["runs"].append(measure(url, settings.redis_url, size))
            finally:
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    (RESULTS / "rebuild.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

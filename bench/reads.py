"""Read-side benchmark: GET /tasks latency against data size, cached versus uncached throughput.

Runs the service as production would (`taskflow serve`, granian, TASKFLOW_WORKERS processes) against the
PostgreSQL and Redis of the usual settings (or the embedded ones), in a database of its own, and drives HTTP
load with wrk. Figures are ratios against baselines measured in the same run. Writes bench/results/reads.json.

    python bench/reads.py [--sizes 10000,100000,1000000] [--seconds 5]
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis
from psycopg import sql

from api.bench_floor import BODY_KEY
from application.cursors import Cursor, encode_cursor, fingerprint
from application.views import TaskFilter, TaskSort
from infrastructure.postgres.migrations import apply_migrations
from infrastructure.processes.embedded_servers import with_servers
from infrastructure.settings import load_settings

RESULTS = Path(__file__).parent / "results"
SECRET = secrets.token_urlsafe(48)
CURSOR_SECRET = hashlib.sha256(b"keyset-cursor:" + SECRET.encode()).digest()

FILL = """
INSERT INTO tasks_view (id, owner_id, title, description, status, priority, due_date, version, created_at, updated_at)
SELECT gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(mod(i, 1000)::text, 12, '0'))::uuid,
       'task ' || i, CASE WHEN mod(i, 3) = 0 THEN 'some words ' || i END,
       (ARRAY['PENDING', 'IN_PROGRESS', 'COMPLETED'])[1 + mod(i, 3)],
       (ARRAY['LOW', 'MEDIUM', 'HIGH'])[1 + mod(i / 3, 3)],
       CASE WHEN mod(i, 5) <> 0 THEN now() + (mod(i, 200) - 100) * interval '1 day' END, 1,
       now() - i * interval '1 second', now() - i * interval '1 second'
FROM generate_series(%s::int, %s::int) AS i
"""


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fill_to(url: str, rows: int) -> None:
    """Grow tasks_view to `rows` current tasks, loading with the indexes dropped, then rebuilding them."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM tasks_view").fetchone()
        have = int(row[0]) if row else 0
        if have >= rows:
            return
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'tasks_view' AND indexname <> 'tasks_view_pkey'"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        conn.execute(FILL, (have + 1, rows))
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("VACUUM ANALYZE tasks_view")


def seed(env: dict[str, str]) -> None:
    """The README's logins (and sample tasks), as `taskflow seed` makes them: a token must name a registered user."""
    subprocess.run([sys.executable, "-m", "cli", "seed"], env=env, check=True, capture_output=True, timeout=120)


def signed_in(base: str, email: str, password: str) -> dict[str, str]:
    """The headers of a request made as that login."""
    answer = httpx.post(f"{base}/auth/login", json={"email": email, "password": password}, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


def deep_cursor(url: str, base: str, headers: dict[str, str], depth: float) -> str:
    """A cursor as the service would issue it, positioned `depth` of the way through the newest-first list."""
    first = httpx.get(f"{base}/tasks?limit=20", headers=headers, timeout=30).json()["nextCursor"]
    payload = first.split(".")[0]
    issued = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    snapshot, epoch = issued[4], issued[5]  # the first page's snapshot, and which build of the table answered
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT created_at, id FROM tasks_view WHERE valid_to IS NULL ORDER BY created_at DESC, id DESC"
            " OFFSET (SELECT (count(*) * %s)::int FROM tasks_view) LIMIT 1",
            (depth,),
        ).fetchone()
    assert row is not None
    walk = fingerprint([TaskFilter(owner_id=None), TaskSort.CREATED_DESC])
    return encode_cursor(CURSOR_SECRET, Cursor(walk, row[0], row[1], datetime.now(UTC), snapshot, epoch))


def workers_rss_mb(parent: int) -> list[float]:
    """Resident memory of each worker process `parent` (granian's main process) runs, in MB."""
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(parent)], capture_output=True, text=True).stdout
    return [int(line) / 1024 for line in out.split()]


@contextmanager
def serve(env: dict[str, str], workers: int, rss: list[float] | None = None, command: str = "serve") -> Iterator[str]:
    """`taskflow serve` (or `run`: the whole service) until the block ends; `rss` receives each worker's resident
    memory (MB) at the end."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", command],
        env=env | {"PORT": str(port), "TASKFLOW_WORKERS": str(workers), "TASKFLOW_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
        if rss is not None:
            rss.extend(workers_rss_mb(process.pid))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def wrk(
    url: str, headers: dict[str, str], connections: int, seconds: int, script: str | None = None
) -> dict[str, float]:
    """Requests per second and latency percentiles (ms) of `url` under wrk (`script`: a Lua file, e.g. a POST); any
    answer but a 2xx or 3xx fails the measurement."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *(["-s", script] if script else [])]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses\n{out}")

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rate, "p50_ms": percentile("50"), "p99_ms": percentile("99")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    RESULTS.mkdir(exist_ok=True)
    with servers() as (admin_url, redis_url), database(admin_url) as url:
        results = run(url, redis_url, sizes, options)
    (RESULTS / "reads.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


@contextmanager
def servers() -> Iterator[tuple[str, str]]:
    """The PostgreSQL admin URL and the Redis URL the bench runs on (TASKFLOW_DATABASE_URL / TASKFLOW_REDIS_URL, or
    embedded servers), for the block."""
    with with_servers(load_settings()) as settings:
        assert settings.database_url
        assert settings.redis_url
        yield with_database(settings.database_url, "postgres"), settings.redis_url


@contextmanager
def database(admin_url: str) -> Iterator[str]:
    """A migrated database of the bench's own on that server, dropped after the block."""
    name = f"taskflow_bench_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(admin_url, name)
    try:
        apply_migrations(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def service_environment(url: str, redis_url: str) -> dict[str, str]:
    """The environment of a service process on these servers: its own namespace, data dir and keys, no limits."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TASKFLOW_")} | {
        "TASKFLOW_DATABASE_URL": url,
        "TASKFLOW_REDIS_URL": redis_url,
        "TASKFLOW_REDIS_NAMESPACE": f"bench-{secrets.token_hex(3)}",
        "TASKFLOW_DATA_DIR": tempfile.mkdtemp(prefix="taskflow-bench-"),
        "TASKFLOW_JWT_SECRET": SECRET,
        "TASKFLOW_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "TASKFLOW_API_RATE_LIMIT": "100000000/minute",
        "TASKFLOW_LOGIN_RATE_LIMIT": "1000/minute",
        "TASKFLOW_ACCESS_TOKEN_TTL_SECONDS": "86400",  # a token outlives the longest measurement
    }


def run(url: str, redis_url: str, sizes: list[int], options: Any) -> dict[str, Any]:
    env = service_environment(url, redis_url)
    seed(env)
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "latency": {}}
    for rows in sizes:
        fill_to(url, rows)
        with serve(env | {"TASKFLOW_CACHE_TTL_SECONDS": "0"}, options.workers) as base:
            headers = signed_in(base, "admin@example.com", "admin123")
            cursor = deep_cursor(url, base, headers, 0.9)
            results["latency"][rows] = {
                "first_page": wrk(f"{base}/tasks?limit=20", headers, 8, options.seconds),
                "deep_page": wrk(f"{base}/tasks?limit=20&cursor={cursor}", headers, 8, options.seconds),
            }
            if rows == sizes[0]:
                results["uncached"] = wrk(f"{base}/tasks?limit=20", headers, 32, options.seconds)
                results["health_uncached_server"] = wrk(f"{base}/health", {}, 32, options.seconds)
        if rows == sizes[0]:
            rss: list[float] = []
            cached_env = env | {"TASKFLOW_CACHE_TTL_SECONDS": "60", "TASKFLOW_BENCH_FLOOR": "1"}
            with serve(cached_env, options.workers, rss) as base:
                headers = signed_in(base, "admin@example.com", "admin123")
                page = httpx.get(f"{base}/tasks?limit=20", headers=headers, timeout=30)
                # The floor answers the same bytes, from one script call, after the same token check.
                with redis.Redis.from_url(redis_url) as client:
                    client.set(f"{env['TASKFLOW_REDIS_NAMESPACE']}:{BODY_KEY}", page.content)
                task = page.json()["data"][0]
                tag = httpx.get(f"{base}/tasks/{task['id']}", headers=headers, timeout=30).headers["etag"]
                results["cached"] = wrk(f"{base}/tasks?limit=20", headers, 32, options.seconds)
                results["floor"] = wrk(f"{base}/bench/floor", headers, 32, options.seconds)
                results["not_modified"] = wrk(
                    f"{base}/tasks/{task['id']}", headers | {"If-None-Match": tag}, 32, options.seconds
                )
                results["health"] = wrk(f"{base}/health", {}, 32, options.seconds)
            results["worker_rss_mb"] = rss
    return results


if __name__ == "__main__":
    main()

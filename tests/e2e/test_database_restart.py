"""PostgreSQL restarted, on a private cluster of each test's own: under write load every answer is 201 or 503, no
acknowledged write is lost, and the API serves again without being restarted; once it is back, the first request
and the first refund job succeed (the pools replace the connections the restart ended before handing them out)."""

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from infrastructure.postgres.migrations import apply_migrations
from infrastructure.processes.embedded_servers import embedded_postgres
from infrastructure.settings import Settings
from tests.e2e.processes import free_port, servers_environment, taskflow

WRITERS = 4
SERVER_USER = "pgserver" if os.geteuid() == 0 else None  # pgserver runs its server as this user under root
SECONDS = 8.0
POOL_SIZE = 10  # TASKFLOW_DATABASE_POOL_SIZE's default


def pg_ctl() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / "pg_ctl"


@contextmanager
def private_cluster(tmp_path: Path) -> Iterator[str]:
    """A migrated PostgreSQL of this test's own (its data directory: tmp_path/private/postgres), stopped at the end."""
    try:
        with embedded_postgres(tmp_path / "private") as database_url:
            apply_migrations(database_url)
            yield database_url
    finally:
        # pg_ctl's restart started a server pgserver does not know it owns: stop it here.
        subprocess.run(
            [str(pg_ctl()), "-D", str(tmp_path / "private" / "postgres"), "stop", "-m", "immediate"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            user=SERVER_USER,
            check=False,
        )


def restart(data_dir: Path) -> None:
    """A fast restart: every session is ended; returns once the server accepts connections again."""
    # The restarted server keeps pg_ctl's output open: it goes to a file, not to a pipe read until it closes.
    log = data_dir / "restart.log"
    done = subprocess.run(
        [str(pg_ctl()), "-D", str(data_dir), "-l", str(log), "restart", "-m", "fast", "-w", "-t", "30"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
        user=SERVER_USER,
    )
    assert done.returncode == 0, log.read_text() if log.exists() else "pg_ctl failed"


def test_a_database_restart_loses_no_acknowledged_write(settings: Settings, tmp_path: Path) -> None:
    assert settings.redis_url
    with private_cluster(tmp_path) as database_url:
        env = servers_environment(
            settings,
            TASKFLOW_DATABASE_URL=database_url,  # the private server this test restarts
            TASKFLOW_DATABASE_TIMEOUT_SECONDS="2",
            TASKFLOW_API_RATE_LIMIT="1000000/minute",
            PORT=str(free_port()),
        )
        with taskflow("serve", env, tmp_path / "serve.log") as (url, _):
            headers = registered(url)
            data_dir = tmp_path / "private" / "postgres"
            started = postmaster_started(database_url)
            answers = asyncio.run(write_while_restarting(url, headers, data_dir))
            assert postmaster_started(database_url) != started, "the server restarted meanwhile"
            # Back without restarting the API.
            deadline = time.monotonic() + 30
            while (after := httpx.post(f"{url}/tasks", json={"title": "after"}, headers=headers)).status_code != 201:
                assert after.status_code == 503, after.text
                assert time.monotonic() < deadline, "the API did not come back"
                time.sleep(0.2)
        statuses = {status for status, _ in answers}
        # Mostly 201: a request that finds its pooled connection ended waits for a new one, within its timeout.
        assert statuses <= {201, 503}, statuses
        acknowledged = {task_id for status, task_id in answers if status == 201}
        with psycopg.connect(database_url) as conn:
            stored = {row[0] for row in conn.execute("SELECT id::text FROM tasks_view WHERE valid_to IS NULL")}
            logged = {row[0] for row in conn.execute("SELECT stream_id::text FROM events WHERE type = 'TaskCreated'")}
        assert acknowledged <= stored, "an acknowledged create is missing from the read model"
        assert acknowledged <= logged, "an acknowledged create is missing from the log"
        assert len(acknowledged) > 10


def registered(url: str) -> dict[str, str]:
    """The bearer header of a newly registered user."""
    session = httpx.post(
        f"{url}/auth/register", json={"email": "db@example.com", "name": "D", "password": "long enough"}, timeout=30
    )
    assert session.status_code == 201, session.text
    return {"Authorization": f"Bearer {session.json()['accessToken']}"}


def postmaster_started(database_url: str) -> object:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    assert row is not None
    return row[0]


async def write_while_restarting(url: str, headers: dict[str, str], data_dir: Path) -> list[tuple[int, str | None]]:
    answers: list[tuple[int, str | None]] = []
    stop = time.monotonic() + SECONDS

    async def writer(client: httpx.AsyncClient, n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            response = await client.post(f"{url}/tasks", json={"title": f"w{n}-{i}"}, headers=headers)
            answers.append((response.status_code, response.json().get("id") if response.status_code == 201 else None))
            i += 1
            if response.status_code != 201:
                await asyncio.sleep(0.05)

    async def restart_later() -> None:
        await asyncio.sleep(2)
        await asyncio.to_thread(restart, data_dir)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(restart_later(), *(writer(client, n) for n in range(WRITERS)))
    return answers


def test_the_first_request_and_job_after_a_restart_succeed(settings: Settings, tmp_path: Path) -> None:
    """Every process's pool holds only connections the restart ended: none of them may reach a request or a job.
    (A job that failed on one would wait out TASKFLOW_JOB_REDELIVERY_SECONDS, 60 s, before it was tried again.)"""
    with private_cluster(tmp_path) as database_url:
        env = servers_environment(
            settings,
            TASKFLOW_DATABASE_URL=database_url,
            TASKFLOW_API_RATE_LIMIT="1000000/minute",
            PORT=str(free_port()),
        )
        with taskflow("run", env, tmp_path / "run.log") as (url, _):
            headers = registered(url)
            assert refund_paid_within(url, headers, 60), (tmp_path / "run.log").read_text()
            asyncio.run(open_connections(url, headers))  # the API's pool holds several connections now
            restart(tmp_path / "private" / "postgres")
            for n in range(POOL_SIZE + 2):
                created = httpx.post(f"{url}/tasks", json={"title": f"after {n}"}, headers=headers, timeout=30)
                assert created.status_code == 201, (n, created.text)
            assert refund_paid_within(url, headers, 20), (tmp_path / "run.log").read_text()


async def open_connections(url: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        requests = (client.post(f"{url}/tasks", json={"title": f"busy {n}"}, headers=headers) for n in range(30))
        assert {response.status_code for response in await asyncio.gather(*requests)} == {201}


def refund_paid_within(url: str, headers: dict[str, str], seconds: float) -> bool:
    task = httpx.post(
        f"{url}/tasks", json={"title": "paid", "fee": {"amount": 500, "currency": "EUR"}}, headers=headers, timeout=30
    )
    assert task.status_code == 201, task.text
    refund = httpx.post(f"{url}/tasks/{task.json()['id']}/refund", headers=headers, timeout=30)
    assert refund.status_code == 202, refund.text
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (
            httpx.get(f"{url}/refunds/{refund.json()['id']}", headers=headers, timeout=30).json()["status"]
            == "SUCCEEDED"
        ):
            return True
        time.sleep(0.2)
    return False

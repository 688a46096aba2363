"""PostgreSQL restarted under write load, on a private cluster of this test's own: every answer is 201 or 503,
no acknowledged write is lost, and the API serves again without being restarted."""

import asyncio
import os
import subprocess
import time
from pathlib import Path

import httpx
import psycopg

from infrastructure.embedded import embedded_postgres
from infrastructure.migrate import apply_migrations
from infrastructure.settings import Settings
from tests.e2e.processes import free_port, servers_environment, taskflow

WRITERS = 4
SERVER_USER = "pgserver" if os.geteuid() == 0 else None  # pgserver runs its server as this user under root
SECONDS = 8.0


def pg_ctl() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / "pg_ctl"


def test_a_database_restart_loses_no_acknowledged_write(settings: Settings, tmp_path: Path) -> None:
    assert settings.redis_url
    try:
        restart_survived(settings, tmp_path)
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


def restart_survived(settings: Settings, tmp_path: Path) -> None:
    assert settings.redis_url
    with embedded_postgres(tmp_path / "private") as database_url:
        apply_migrations(database_url)
        env = servers_environment(
            settings,
            TASKFLOW_DATABASE_URL=database_url,  # the private server this test restarts
            TASKFLOW_DATABASE_TIMEOUT_SECONDS="2",
            TASKFLOW_API_RATE_LIMIT="1000000/minute",
            PORT=str(free_port()),
        )
        with taskflow("serve", env, tmp_path / "serve.log") as (url, _):
            registered = httpx.post(
                f"{url}/auth/register", json={"email": "db@example.com", "name": "D", "password": "long enough"}
            )
            headers = {"Authorization": f"Bearer {registered.json()['accessToken']}"}
            data_dir = tmp_path / "private" / "postgres"
            answers = asyncio.run(write_while_restarting(url, headers, data_dir))
            # Back without restarting the API.
            deadline = time.monotonic() + 30
            while (after := httpx.post(f"{url}/tasks", json={"title": "after"}, headers=headers)).status_code != 201:
                assert after.status_code == 503, after.text
                assert time.monotonic() < deadline, "the API did not come back"
                time.sleep(0.2)
        statuses = {status for status, _ in answers}
        assert statuses <= {201, 503}, statuses
        assert 503 in statuses, "the restart was felt"
        acknowledged = {task_id for status, task_id in answers if status == 201}
        with psycopg.connect(database_url) as conn:
            stored = {row[0] for row in conn.execute("SELECT id::text FROM tasks_view WHERE valid_to IS NULL")}
            logged = {row[0] for row in conn.execute("SELECT stream_id::text FROM events WHERE type = 'TaskCreated'")}
        assert acknowledged <= stored, "an acknowledged create is missing from the read model"
        assert acknowledged <= logged, "an acknowledged create is missing from the log"
        assert len(acknowledged) > 10


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

    async def restart() -> None:
        await asyncio.sleep(2)
        # The restarted server keeps pg_ctl's output open: it goes to a file, not to a pipe read until it closes.
        log = data_dir / "restart.log"
        done = await asyncio.to_thread(
            subprocess.run,
            [str(pg_ctl()), "-D", str(data_dir), "-l", str(log), "restart", "-m", "fast", "-w", "-t", "30"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            user=SERVER_USER,
        )
        assert done.returncode == 0, log.read_text() if log.exists() else "pg_ctl failed"

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(restart(), *(writer(client, n) for n in range(WRITERS)))
    return answers

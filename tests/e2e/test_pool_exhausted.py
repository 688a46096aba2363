"""An exhausted connection pool, on a real server with real concurrent clients: requests that cannot get a
connection in time are answered 503 with Retry-After within about the checkout timeout, never hang and never
500; the service recovers by itself."""

import asyncio
import time
from pathlib import Path

import httpx
import psycopg

from infrastructure.settings import Settings
from tests.e2e.helpers import hold_counters
from tests.e2e.processes import free_port, servers_environment, taskflow

CONCURRENT = 24
TIMEOUT_SECONDS = 1.0


def test_an_exhausted_pool_answers_503_fast_and_recovers(settings: Settings, tmp_path: Path) -> None:
    env = servers_environment(
        settings,
        TASKFLOW_DATABASE_POOL_SIZE="2",
        TASKFLOW_DATABASE_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
        TASKFLOW_API_RATE_LIMIT="1000000/minute",
        PORT=str(free_port()),
    )
    with taskflow("serve", env, tmp_path / "serve.log") as (url, _):
        registered = httpx.post(
            f"{url}/auth/register", json={"email": "pool@example.com", "name": "P", "password": "long enough"}
        )
        headers = {"Authorization": f"Bearer {registered.json()['accessToken']}"}
        owner = registered.json()["user"]["id"]
        # Another session holds the owner's counters rows: each create holds one of the two connections while it
        # waits for that lock (up to the lock timeout); the other requests wait for a connection.
        with psycopg.connect(env["TASKFLOW_DATABASE_URL"]) as holder:
            hold_counters(holder, owner)
            started = time.monotonic()
            responses = asyncio.run(creates(url, headers))
            elapsed = time.monotonic() - started
            holder.rollback()
        statuses = [response.status_code for response in responses]
        assert set(statuses) == {503}, statuses
        assert all(response.headers.get("retry-after") for response in responses)
        # Bounded by the timeouts, not by the number of requests queued behind the two connections.
        assert elapsed < 3 * TIMEOUT_SECONDS + 2, elapsed
        recovered = httpx.post(f"{url}/tasks", json={"title": "after"}, headers=headers)
        assert recovered.status_code == 201


async def creates(url: str, headers: dict[str, str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CONCURRENT)) as client:
        return await asyncio.gather(
            *(client.post(f"{url}/tasks", json={"title": f"t{i}"}, headers=headers) for i in range(CONCURRENT))
        )

"""The Redis cache: never stale for a client that got a 2xx, hits skip the database, Redis trouble fails nothing."""

import asyncio
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from infrastructure.processes.embedded_servers import embedded_redis
from infrastructure.settings import Settings
from tests.e2e.helpers import PASSWORD, Client, bearer, create_task, register

Session = dict[str, Any]
REQUEST_BOUND_SECONDS = 1.5


@pytest.fixture
async def other(settings: Settings) -> AsyncIterator[Client]:
    """A second instance of the service: its own pool and Redis client, the same database and Redis."""
    async with AsyncTestClient(app=create_app(settings)) as second:
        yield second


class TestReadYourWrites:
    async def test_a_write_through_one_instance_is_read_fresh_through_the_other(
        self, client: Client, other: Client, alice: Session
    ) -> None:
        task = await create_task(client, alice, title="v0")
        for i in range(1, 25):
            writer, reader = (client, other) if i % 2 else (other, client)
            await reader.get(f"/tasks/{task['id']}", headers=bearer(alice))  # warm the reader's cache
            await reader.get("/tasks", headers=bearer(alice))
            await reader.get("/tasks/stats", headers=bearer(alice))
            status = "COMPLETED" if i % 3 == 0 else "PENDING"
            patched = await writer.patch(
                f"/tasks/{task['id']}", json={"title": f"v{i}", "status": status}, headers=bearer(alice)
            )
            assert patched.status_code == 200
            detail = (await reader.get(f"/tasks/{task['id']}", headers=bearer(alice))).json()
            assert detail["title"] == f"v{i}"
            listed = (await reader.get("/tasks", headers=bearer(alice))).json()["data"]
            assert [t["title"] for t in listed] == [f"v{i}"]
            stats = (await reader.get("/tasks/stats", headers=bearer(alice))).json()
            assert stats["completed"] == (1 if status == "COMPLETED" else 0)

    async def test_an_admins_view_of_everyone_is_fresh_too(
        self, client: Client, other: Client, alice: Session, admin: Session
    ) -> None:
        await other.get("/tasks", headers=bearer(admin))
        task = await create_task(client, alice)
        everyone = (await other.get("/tasks", headers=bearer(admin))).json()["data"]
        assert [t["id"] for t in everyone] == [task["id"]]
        await client.delete(f"/tasks/{task['id']}", headers=bearer(alice))
        assert (await other.get("/tasks", headers=bearer(admin))).json()["data"] == []
        assert (await other.get(f"/tasks/{task['id']}", headers=bearer(admin))).status_code == 404


class TestHits:
    async def test_a_hit_does_not_touch_the_database(
        self, client: Client, alice: Session, settings: Settings, servers: tuple[str, str]
    ) -> None:
        task = await create_task(client, alice)
        warm = await client.get(f"/tasks/{task['id']}", headers=bearer(alice))
        assert warm.status_code == 200
        await client.get("/tasks", headers=bearer(alice))
        assert settings.database_url
        name = psycopg.conninfo.conninfo_to_dict(settings.database_url)["dbname"]
        assert isinstance(name, str)
        assert name.startswith("taskflow_test_")
        with psycopg.connect(servers[0], autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            hit = await client.get(f"/tasks/{task['id']}", headers=bearer(alice))
            assert (hit.status_code, hit.json()) == (200, warm.json())
            assert (await client.get("/tasks", headers=bearer(alice))).status_code == 200
            miss = await client.get("/tasks/stats", headers=bearer(alice))
            assert miss.status_code == 503, "a miss needs the database, which is refusing"
        finally:
            with psycopg.connect(servers[0], autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis of this test's own, which it may pause and stop without disturbing anything else."""
    with embedded_redis(tmp_path) as url:
        yield url


async def timed(request: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


class TestRedisTrouble:
    async def test_paused_redis_costs_little_and_leaves_nothing_stale(
        self, settings: Settings, private_redis: str
    ) -> None:
        own = msgspec.structs.replace(settings, redis_url=private_redis, redis_namespace=secrets.token_hex(4))
        async with AsyncTestClient(app=create_app(own)) as one, AsyncTestClient(app=create_app(own)) as two:
            session = await register(one, "paused@example.com")
            task = await create_task(one, session, title="before")
            await two.get(f"/tasks/{task['id']}", headers=bearer(session))  # cached in Redis
            redis = aioredis.Redis.from_url(private_redis)
            async with redis:
                await redis.client_pause(2500, all=True)
                patched, took = await timed(
                    one.patch(f"/tasks/{task['id']}", json={"title": "during"}, headers=bearer(session))
                )
                assert (patched.status_code, patched.json()["title"]) == (200, "during")
                assert took < REQUEST_BOUND_SECONDS
                read, took = await timed(two.get(f"/tasks/{task['id']}", headers=bearer(session)))
                assert (read.status_code, read.json()["title"]) == (200, "during")
                assert took < REQUEST_BOUND_SECONDS
                await asyncio.sleep(2.5)  # the pause ends; kept invalidations go out
            await asyncio.sleep(1.2)
            for client in (one, two, one):
                fresh = await client.get(f"/tasks/{task['id']}", headers=bearer(session))
                assert fresh.json()["title"] == "during"

    async def test_hung_redis_fails_no_request(self, settings: Settings, tmp_path: Path) -> None:
        with embedded_redis(tmp_path) as url:
            own = msgspec.structs.replace(settings, redis_url=url, redis_namespace=secrets.token_hex(4))
            async with AsyncTestClient(app=create_app(own)) as client:
                session = await register(client, "stopped@example.com")
                task = await create_task(client, session, title="before")
                await client.get(f"/tasks/{task['id']}", headers=bearer(session))
                probe = aioredis.Redis.from_url(url)
                async with probe:
                    pid = int((await probe.info("server"))["process_id"])
                os.kill(pid, signal.SIGSTOP)  # hung: connections are accepted, nothing is answered
                try:
                    patched, took = await timed(
                        client.patch(f"/tasks/{task['id']}", json={"title": "after"}, headers=bearer(session))
                    )
                    assert patched.status_code == 200
                    assert took < REQUEST_BOUND_SECONDS
                    read = await client.get(f"/tasks/{task['id']}", headers=bearer(session))
                    assert read.json()["title"] == "after"
                    listed = await client.get("/tasks", headers=bearer(session))
                    assert listed.json()["data"][0]["title"] == "after"
                finally:
                    os.kill(pid, signal.SIGCONT)

    async def test_stopped_then_restarted_redis_leaves_nothing_stale(self, settings: Settings, tmp_path: Path) -> None:
        namespace = secrets.token_hex(4)
        with embedded_redis(tmp_path) as url:
            own = msgspec.structs.replace(settings, redis_url=url, redis_namespace=namespace)
            async with AsyncTestClient(app=create_app(own)) as client:
                session = await register(client, "restart@example.com")
                task = await create_task(client, session, title="before")
                await client.get(f"/tasks/{task['id']}", headers=bearer(session))
        # The server is gone: every request still answers, from the database.
        async with AsyncTestClient(app=create_app(own)) as client:
            login = await client.post("/auth/login", json={"email": "restart@example.com", "password": PASSWORD})
            assert login.status_code == 200
            headers = bearer(login.json())
            patched = await client.patch(f"/tasks/{task['id']}", json={"title": "while down"}, headers=headers)
            assert patched.status_code == 200
            assert (await client.get(f"/tasks/{task['id']}", headers=headers)).json()["title"] == "while down"
            with embedded_redis(tmp_path):  # back, with whatever it had saved
                await asyncio.sleep(1.2)  # past the guard's pause
                read = await client.get(f"/tasks/{task['id']}", headers=headers)
                assert read.json()["title"] == "while down"


class TestStampede:
    async def test_many_misses_of_one_key_compute_once(self, client: Client, alice: Session) -> None:
        app: Litestar = client.app
        cache = app.state.runtime.cache
        task = await create_task(client, alice)
        misses_before = cache.misses
        responses = await asyncio.gather(
            *(client.get(f"/tasks/{task['id']}", headers=bearer(alice)) for _ in range(20))
        )
        assert {r.status_code for r in responses} == {200}
        assert cache.misses - misses_before == 1

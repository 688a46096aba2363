"""Whole answers the cache keeps (a task, a first page, the counts): a repeat is answered in the gate's own round trip,
byte for byte, but never to another user, never after a write, never to a refused token, and never for a later page
(whose cursor expires)."""

import hashlib
from typing import Any
from urllib.parse import quote

import msgspec
import psycopg
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from api.app import create_app
from infrastructure.settings import Settings
from tests.e2e.helpers import Client, bearer, create_task, register

Session = dict[str, Any]


def behind_the_cache(settings: Settings, task_id: str, title: str) -> None:
    """Change a task's row in the read table directly: no event, no invalidation."""
    assert settings.database_url
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("UPDATE tasks_view SET title = %s WHERE id = %s AND valid_to IS NULL", (title, task_id))


async def kept_keys(settings: Settings) -> set[bytes]:
    assert settings.redis_url
    async with aioredis.Redis.from_url(settings.redis_url) as redis:
        return {key async for key in redis.scan_iter(f"{settings.redis_namespace}:*:answer:*")}


class TestKeptAnswers:
    async def test_a_repeat_is_the_kept_answer_until_a_write(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        task = await create_task(client, alice, title="kept")
        routes = ["/tasks?limit=5", f"/tasks/{task['id']}", "/tasks/stats"]
        first = [await client.get(route, headers=bearer(alice)) for route in routes]
        behind_the_cache(settings, task["id"], "changed behind the cache")
        for route, answer in zip(routes, first, strict=True):
            again = await client.get(route, headers=bearer(alice))
            assert (again.status_code, again.content) == (200, answer.content)
            assert again.headers["content-type"] == answer.headers["content-type"] == "application/json"
            assert again.headers.get("etag") == answer.headers.get("etag")
            assert again.headers["cache-control"] == "no-store"
        patched = await client.patch(f"/tasks/{task['id']}", json={"priority": "HIGH"}, headers=bearer(alice))
        assert patched.status_code == 200
        listed = (await client.get("/tasks?limit=5", headers=bearer(alice))).json()["data"]
        assert [(t["title"], t["priority"]) for t in listed] == [("kept", "HIGH")]
        detail = await client.get(f"/tasks/{task['id']}", headers=bearer(alice))
        assert (detail.json()["priority"], detail.headers["etag"]) == ("HIGH", '"2"')
        assert (await client.get("/tasks/stats", headers=bearer(alice))).json()["highPriority"] == 1

    async def test_one_users_kept_answer_is_never_anothers(self, client: Client, alice: Session, bob: Session) -> None:
        await create_task(client, alice, title="alice's")
        await create_task(client, bob, title="bob's")
        for _ in range(3):
            for session, title in ((alice, "alice's"), (bob, "bob's")):
                listed = (await client.get("/tasks?limit=5", headers=bearer(session))).json()["data"]
                assert [t["title"] for t in listed] == [title]

    async def test_a_kept_task_answers_if_none_match(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice)
        route = f"/tasks/{task['id']}"
        await client.get(route, headers=bearer(alice))
        unchanged = await client.get(route, headers=bearer(alice) | {"If-None-Match": 'W/"1"'})
        assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (304, b"", '"1"')
        other = await client.get(route, headers=bearer(alice) | {"If-None-Match": '"7", "8"'})
        assert (other.status_code, other.json()["id"], other.headers["etag"]) == (200, task["id"], '"1"')

    async def test_a_refused_token_gets_no_kept_answer(self, client: Client, admin: Session, bob: Session) -> None:
        await create_task(client, bob)
        promoted = await client.patch(f"/users/{bob['user']['id']}/role", json={"role": "admin"}, headers=bearer(admin))
        assert promoted.status_code == 200
        bob_admin = (await client.post("/auth/refresh", json={"refreshToken": bob["refreshToken"]})).json()
        for _ in range(2):
            assert (await client.get("/tasks", headers=bearer(bob_admin))).status_code == 200
        await client.patch(f"/users/{bob['user']['id']}/role", json={"role": "user"}, headers=bearer(admin))
        assert (await client.get("/tasks", headers=bearer(bob_admin))).status_code == 401, "demoted"
        assert (await client.get("/tasks", headers=bearer(admin))).status_code == 200
        logout = await client.post("/auth/logout", json={"refreshToken": admin["refreshToken"]}, headers=bearer(admin))
        assert logout.status_code == 204
        assert (await client.get("/tasks", headers=bearer(admin))).status_code == 401, "logged out"

    async def test_a_later_page_is_read_each_time(self, client: Client, alice: Session, settings: Settings) -> None:
        for i in range(3):
            await create_task(client, alice, title=f"task {i}")
        first = (await client.get("/tasks?limit=2", headers=bearer(alice))).json()
        kept = await kept_keys(settings)
        assert len(kept) == 1
        cursor = quote(first["nextCursor"], safe="")
        for route in [f"/tasks?limit=2&cursor={cursor}", f"/tasks?limit=2&%63ursor={cursor}"] * 2:
            later = await client.get(route, headers=bearer(alice))
            assert [t["title"] for t in later.json()["data"]] == ["task 0"]
        assert await kept_keys(settings) == kept

    async def test_a_query_with_a_parameter_the_route_does_not_read_is_not_kept(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        await create_task(client, alice)
        for route in ["/tasks?limit=5&junk=1", "/tasks/stats?ownerId=&x=", "/tasks?limit=5&cursor="]:
            assert (await client.get(route, headers=bearer(alice))).status_code in (200, 400)
        assert await kept_keys(settings) == set()

    async def test_a_first_page_is_kept_a_minute_at_most(self, settings: Settings) -> None:
        """Its next cursor dates from when it was read: a walk begun from a kept page keeps nearly all its hour."""
        async with AsyncTestClient(app=create_app(msgspec.structs.replace(settings, cache_ttl_seconds=3600))) as client:
            session = await register(client, "walker@example.com")
            task = await create_task(client, session)
            for route in ["/tasks?limit=1", f"/tasks/{task['id']}"]:
                assert (await client.get(route, headers=bearer(session))).status_code == 200
            assert settings.redis_url
            async with aioredis.Redis.from_url(settings.redis_url) as redis:
                lives = {
                    key.split(b":answer:")[1].split(b":")[0].decode(): await redis.ttl(key)
                    for key in await kept_keys(settings)
                }
        page = hashlib.sha256(b"/tasks?limit=1").hexdigest()
        detail = hashlib.sha256(f"/tasks/{task['id']}?".encode()).hexdigest()
        assert 0 < lives[page] <= 60
        assert 60 < lives[detail] <= 3600

"""The auditors' feed: GET /admin/events in commit order, never skipping or repeating, and its NDJSON stream."""

from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec

from application.projections.registry import TASK_ACTIVITY
from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.followers import run_batch
from infrastructure.postgres import open_pool
from infrastructure.projections.followed import ProjectionFollower
from infrastructure.settings import Settings
from infrastructure.system import SystemClock
from infrastructure.unit_of_work import PostgresUnitOfWork
from tests.conftest import TEST_SECRET
from tests.e2e.helpers import Client, bearer, create_task
from tests.e2e.processes import base_environment, run_taskflow

Session = dict[str, Any]


async def walk(
    client: Client, admin: Session, after: str | None = None, **params: Any
) -> tuple[list[dict[str, Any]], str | None]:
    seen: list[dict[str, Any]] = []
    while True:
        query = params | ({"after": after} if after else {})
        page = (await client.get("/admin/events", params=query | {"limit": 2}, headers=bearer(admin))).json()
        seen += page["data"]
        if not page["data"]:
            return seen, page["nextAfter"]
        after = page["nextAfter"]


def one() -> list[StreamAppend]:
    created = tasks.TaskCreated(owner_id=uuid4(), title="t", fee=None)
    return [StreamAppend(uuid4(), tasks.STREAM_TYPE, 0, [created])]


class TestFeed:
    async def test_pages_give_every_event_once_in_commit_order(
        self, client: Client, admin: Session, alice: Session, settings: Settings
    ) -> None:
        task = await create_task(client, alice)
        await client.patch(f"/tasks/{task['id']}", json={"title": "changed"}, headers=bearer(alice))
        seen, after = await walk(client, admin)
        assert settings.database_url
        async with open_pool(settings.database_url, size=1, checkout_seconds=5) as pool, pool.connection() as conn:
            cursor = await conn.execute("SELECT position FROM events ORDER BY transaction_id, position")
            assert [e["position"] for e in seen] == [row[0] for row in await cursor.fetchall()]
        again = (await client.get("/admin/events", params={"after": after}, headers=bearer(admin))).json()
        assert again == {"data": [], "nextAfter": after}, "nothing new: the same position comes back"
        await create_task(client, alice, title="new")
        newer = (await client.get("/admin/events", params={"after": after}, headers=bearer(admin))).json()
        assert [e["type"] for e in newer["data"]] == ["TaskCreated"]

    async def test_an_open_transaction_holds_later_events_back_until_it_commits(
        self, client: Client, admin: Session, settings: Settings
    ) -> None:
        assert settings.database_url
        _, after = await walk(client, admin)

        def one() -> list[StreamAppend]:
            return [
                StreamAppend(uuid4(), tasks.STREAM_TYPE, 0, [tasks.TaskCreated(owner_id=uuid4(), title="t", fee=None)])
            ]

        async with open_pool(settings.database_url, size=3, checkout_seconds=5) as pool:
            slow = PostgresUnitOfWork(pool)
            await slow.__aenter__()
            # A transaction that wrote first (an idempotent command claims its key) and appends when it commits.
            now = SystemClock().now()
            await slow.idempotency.claim(uuid4(), "key", b"fingerprint", now, now)
            await slow.events.append(one(), EventMetadata(), SystemClock().now())
            async with PostgresUnitOfWork(pool) as later:
                await later.events.append(one(), EventMetadata(), SystemClock().now())
            held, after_held = await walk(client, admin, after)
            assert held == [], "the later commit waits behind the open transaction"
            await slow.__aexit__(None, None, None)
        both, _ = await walk(client, admin, after_held)
        assert len(both) == 2

    async def test_filters_roles_and_forged_positions(self, client: Client, admin: Session, alice: Session) -> None:
        task = await create_task(client, alice)
        await client.delete(f"/tasks/{task['id']}", headers=bearer(alice))
        only_deletes, _ = await walk(client, admin, type="TaskDeleted")
        assert [e["streamId"] for e in only_deletes] == [task["id"]]
        one_stream, _ = await walk(client, admin, streamId=task["id"])
        assert [e["version"] for e in one_stream] == [1, 2]
        assert (await client.get("/admin/events", headers=bearer(alice))).status_code == 403
        forged = await client.get("/admin/events", params={"after": "eyJhIjoxfQ"}, headers=bearer(admin))
        assert forged.status_code == 400

    async def test_ndjson_streams_the_whole_log(self, client: Client, admin: Session, alice: Session) -> None:
        await create_task(client, alice)
        paged, _ = await walk(client, admin)
        response = await client.get("/admin/events", headers=bearer(admin) | {"Accept": "application/x-ndjson"})
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [msgspec.json.decode(line) for line in response.content.splitlines()]
        assert lines == paged


class TestExport:
    async def test_export_then_resume(self, client: Client, alice: Session, settings: Settings, tmp_path: Path) -> None:
        await create_task(client, alice)
        assert settings.database_url
        assert settings.redis_url
        env = base_environment(TASKFLOW_DATABASE_URL=settings.database_url, TASKFLOW_REDIS_URL=settings.redis_url)
        env["TASKFLOW_JWT_SECRET"] = TEST_SECRET.decode()
        first = await run_taskflow(env, "events", "export", "--output", str(tmp_path / "log.ndjson"))
        assert first.returncode == 0, first.stderr
        exported = (tmp_path / "log.ndjson").read_text().splitlines()
        assert [msgspec.json.decode(line)["type"] for line in exported] == ["UserRegistered", "TaskCreated"]
        resume = first.stderr.strip().rsplit("next: ", 1)[1]
        await create_task(client, alice, title="later")
        rest = await run_taskflow(env, "events", "export", "--after", resume)
        assert rest.returncode == 0, rest.stderr
        assert [msgspec.json.decode(line)["type"] for line in rest.stdout.splitlines()] == ["TaskCreated"]


class TestProjections:
    async def test_positions_lags_and_status(
        self, client: Client, admin: Session, alice: Session, settings: Settings
    ) -> None:
        await create_task(client, alice)
        states = {p["name"]: p for p in (await client.get("/admin/projections", headers=bearer(admin))).json()}
        assert set(states) == {
            "tasks_view",
            "task_counters",
            "task_deadlines",
            "users_view",
            "refunds_view",
            "task_activity",
            "cache_backstop",
            "refund_dispatcher",
            "audit_tree",
        }
        assert states["tasks_view"]["status"] == "inline"
        assert states["tasks_view"]["lag"] == 0
        assert states["task_activity"]["status"] == "stopped"
        assert states["task_activity"]["lag"] == states["tasks_view"]["position"] > 0
        assert settings.database_url
        async with open_pool(settings.database_url, size=1, checkout_seconds=5) as pool:
            while await run_batch(pool, ProjectionFollower(TASK_ACTIVITY)):
                pass
        states = {p["name"]: p for p in (await client.get("/admin/projections", headers=bearer(admin))).json()}
        assert states["task_activity"]["lag"] == 0
        assert states["task_activity"]["position"] == states["tasks_view"]["position"]
        assert (await client.get("/admin/projections", headers=bearer(alice))).status_code == 403


class TestStreamRefusals:
    async def test_refusals_come_before_the_stream(self, client: Client, admin: Session, alice: Session) -> None:
        ndjson = {"Accept": "application/x-ndjson"}
        assert (await client.get("/admin/events", headers=bearer(alice) | ndjson)).status_code == 403
        forged = await client.get("/admin/events", params={"after": "eyJhIjoxfQ"}, headers=bearer(admin) | ndjson)
        assert forged.status_code == 400

"""The auditors' feed: GET /admin/events in commit order, never skipping or repeating, and its NDJSON stream."""

import hashlib
import hmac
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec
import pytest

from application.auditing import LogPosition, encode_position
from application.projections.registry import TASK_ACTIVITY
from application.records import EventMetadata, StreamAppend
from domain import tasks
from infrastructure.clock import SystemClock
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.pool import open_pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.settings import Settings
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
        assert again == {"data": [], "nextAfter": after, "nextBefore": None}, (
            "nothing new: the same position comes back"
        )
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

    async def test_a_position_is_checked_in_constant_time(
        self, client: Client, admin: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        secret = hashlib.sha256(b"keyset-cursor:" + TEST_SECRET).digest()
        after = encode_position(secret, LogPosition(transaction_id="1", position=1))
        compared: list[tuple[bytes, bytes]] = []

        def compare_digest(a: bytes, b: bytes) -> bool:
            compared.append((a, b))
            return real(a, b)

        real = hmac.compare_digest
        monkeypatch.setattr(hmac, "compare_digest", compare_digest)
        forged = after[:-2] + ("AA" if not after.endswith("AA") else "BB")
        response = await client.get("/admin/events", params={"after": forged}, headers=bearer(admin))
        assert response.status_code == 400
        assert 16 in [len(a) for a, _ in compared], "the 16-byte signature went through hmac.compare_digest"

    async def test_ndjson_streams_the_whole_log(self, client: Client, admin: Session, alice: Session) -> None:
        await create_task(client, alice)
        paged, _ = await walk(client, admin)
        response = await client.get("/admin/events", headers=bearer(admin) | {"Accept": "application/x-ndjson"})
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [msgspec.json.decode(line) for line in response.content.splitlines()]
        assert lines == paged


async def walk_back(client: Client, admin: Session, **params: Any) -> list[dict[str, Any]]:
    """The log newest first, following nextBefore until a page is empty."""
    seen: list[dict[str, Any]] = []
    before: str | None = None
    while True:
        query = params | {"order": "newest", "limit": 2} | ({"before": before} if before else {})
        page = (await client.get("/admin/events", params=query, headers=bearer(admin))).json()
        if not page["data"]:
            return seen
        seen += page["data"]
        before = page["nextBefore"]


class TestNewestFirst:
    async def test_walking_back_gives_every_event_once_newest_first(
        self, client: Client, admin: Session, alice: Session
    ) -> None:
        for title in ("one", "two", "three"):
            await create_task(client, alice, title=title)
        forward, _ = await walk(client, admin)
        backward = await walk_back(client, admin)
        assert backward == forward[::-1]

    async def test_the_newest_page_hands_live_mode_a_cursor_that_misses_nothing(
        self, client: Client, admin: Session, alice: Session
    ) -> None:
        await create_task(client, alice, title="before")
        newest = await client.get("/admin/events", params={"order": "newest", "limit": 1}, headers=bearer(admin))
        page = newest.json()
        assert [e["data"]["title"] for e in page["data"]] == ["before"]
        assert page["nextAfter"] == page["nextBefore"]
        await create_task(client, alice, title="after")
        newer, _ = await walk(client, admin, page["nextAfter"])
        assert [e["data"]["title"] for e in newer] == ["after"]
        older = await client.get("/admin/events", params={"before": page["nextBefore"]}, headers=bearer(admin))
        assert "before" not in [e["data"].get("title") for e in older.json()["data"]]

    async def test_filters_by_stream_type_correlation_and_causation(
        self, client: Client, admin: Session, alice: Session
    ) -> None:
        headers = bearer(alice) | {"X-Correlation-ID": "order-42", "X-Request-ID": "req-7"}
        created = await client.post("/tasks", json={"title": "correlated"}, headers=headers)
        task_id = created.json()["id"]
        await client.patch(
            f"/tasks/{task_id}", json={"title": "again"}, headers=bearer(alice) | {"X-Correlation-ID": "order-42"}
        )
        users = await walk_back(client, admin, streamType="user")
        assert {e["streamType"] for e in users} == {"user"}
        assert len(users) == 2  # alice and the admin
        correlated = await walk_back(client, admin, correlationId="order-42")
        assert [(e["type"], e["version"]) for e in correlated] == [("TaskUpdated", 2), ("TaskCreated", 1)]
        caused = await walk_back(client, admin, correlationId="order-42", causationId="req-7")
        assert [e["version"] for e in caused] == [1]
        assert (await walk_back(client, admin, correlationId="order-42", type="TaskUpdated", streamType="task")) == [
            correlated[0]
        ]
        alone = await client.get("/admin/events", params={"causationId": "req-7"}, headers=bearer(admin))
        assert alone.status_code == 400
        assert alone.json()["errors"][0]["field"] == "causationId"

    async def test_bad_cursors_and_orders_are_refused(self, client: Client, admin: Session) -> None:
        for params in ({"before": "eyJhIjoxfQ"}, {"order": "sideways"}, {"correlationId": "x" * 129}):
            response = await client.get("/admin/events", params=params, headers=bearer(admin))
            assert response.status_code == 400, params

    async def test_ndjson_streams_newest_first_too(self, client: Client, admin: Session, alice: Session) -> None:
        for title in ("one", "two"):
            await create_task(client, alice, title=title)
        backward = await walk_back(client, admin)
        response = await client.get(
            "/admin/events", params={"order": "newest"}, headers=bearer(admin) | {"Accept": "application/x-ndjson"}
        )
        assert [msgspec.json.decode(line) for line in response.content.splitlines()] == backward


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

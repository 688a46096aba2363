"""The task routes over HTTP against the real app, PostgreSQL and Redis."""

import asyncio
from typing import Any

import psycopg

from application.projections.registry import TASK_ACTIVITY
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.pool import open_pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.settings import Settings
from tests.e2e.helpers import Client, bearer, create_task

Session = dict[str, Any]


async def event_types(settings: Settings, stream_id: str) -> list[str]:
    assert settings.database_url
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        cursor = await conn.execute("SELECT type FROM events WHERE stream_id = %s ORDER BY version", (stream_id,))
        return [row[0] for row in await cursor.fetchall()]


class TestCreate:
    async def test_created_task_has_defaults_location_and_etag(self, client: Client, alice: Session) -> None:
        response = await client.post("/tasks", json={"title": "  Write docs  "}, headers=bearer(alice))
        assert response.status_code == 201
        task = response.json()
        assert task["title"] == "Write docs"
        assert (task["status"], task["priority"], task["version"]) == ("PENDING", "MEDIUM", 1)
        assert task["ownerId"] == alice["user"]["id"]
        assert task["fee"] is None
        assert task["refund"] is None
        assert response.headers["location"] == f"/tasks/{task['id']}"
        assert response.headers["etag"] == '"1"'

    async def test_every_field_round_trips(self, client: Client, alice: Session) -> None:
        fields = {
            "title": "Pay",
            "description": "the invoice",
            "status": "IN_PROGRESS",
            "priority": "HIGH",
            "dueDate": "2026-12-01T10:00:00Z",
            "fee": {"amount": 1250, "currency": "EUR"},
        }
        task = await create_task(client, alice, **fields)
        got = (await client.get(f"/tasks/{task['id']}", headers=bearer(alice))).json()
        assert {key: got[key] for key in fields} == fields

    async def test_the_change_is_an_event_with_request_metadata(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        headers = bearer(alice) | {"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
        task = (await client.post("/tasks", json={"title": "x"}, headers=headers)).json()
        assert settings.database_url
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            cursor = await conn.execute("SELECT type, metadata FROM events WHERE stream_id = %s", (task["id"],))
            [(type_, metadata)] = await cursor.fetchall()
        assert type_ == "TaskCreated"
        assert metadata == {
            "actorId": alice["user"]["id"],
            "correlationId": "corr-1",
            "causationId": "req-1",
            "requestId": "req-1",
        }

    async def test_a_user_cannot_create_for_someone_else(self, client: Client, alice: Session, bob: Session) -> None:
        response = await client.post("/tasks", json={"title": "x", "ownerId": bob["user"]["id"]}, headers=bearer(alice))
        assert response.status_code == 403
        assert (await client.get("/tasks", headers=bearer(bob))).json()["data"] == []

    async def test_an_admin_can_create_for_someone_else(self, client: Client, admin: Session, bob: Session) -> None:
        task = await create_task(client, admin, ownerId=bob["user"]["id"])
        assert task["ownerId"] == bob["user"]["id"]
        listed = (await client.get("/tasks", headers=bearer(bob))).json()["data"]
        assert [t["id"] for t in listed] == [task["id"]]


class TestUpdate:
    async def test_changes_only_the_given_fields(self, client: Client, alice: Session, settings: Settings) -> None:
        task = await create_task(client, alice, description="keep me")
        response = await client.patch(f"/tasks/{task['id']}", json={"priority": "LOW"}, headers=bearer(alice))
        assert response.status_code == 200
        updated = response.json()
        assert (updated["priority"], updated["description"], updated["version"]) == ("LOW", "keep me", 2)
        assert response.headers["etag"] == '"2"'
        assert await event_types(settings, task["id"]) == ["TaskCreated", "TaskUpdated"]

    async def test_null_clears_a_nullable_field(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, description="gone soon", dueDate="2026-12-01T00:00:00Z")
        response = await client.patch(
            f"/tasks/{task['id']}", json={"description": None, "dueDate": None}, headers=bearer(alice)
        )
        assert (response.json()["description"], response.json()["dueDate"]) == (None, None)

    async def test_a_change_that_changes_nothing_appends_nothing(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        task = await create_task(client, alice, priority="HIGH")
        response = await client.patch(f"/tasks/{task['id']}", json={"priority": "HIGH"}, headers=bearer(alice))
        assert response.status_code == 200
        assert response.json() == task
        assert await event_types(settings, task["id"]) == ["TaskCreated"]

    async def test_completing_through_patch_is_a_task_completed_event(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        task = await create_task(client, alice)
        await client.patch(f"/tasks/{task['id']}", json={"status": "COMPLETED"}, headers=bearer(alice))
        assert await event_types(settings, task["id"]) == ["TaskCreated", "TaskCompleted"]

    async def test_if_match_current_version_applies(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice)
        headers = bearer(alice) | {"If-Match": '"1"'}
        response = await client.patch(f"/tasks/{task['id']}", json={"title": "new"}, headers=headers)
        assert response.status_code == 200

    async def test_if_match_stale_version_is_412_and_changes_nothing(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice)
        await client.patch(f"/tasks/{task['id']}", json={"title": "second"}, headers=bearer(alice))
        headers = bearer(alice) | {"If-Match": '"1"'}
        response = await client.patch(f"/tasks/{task['id']}", json={"title": "third"}, headers=headers)
        assert response.status_code == 412
        assert response.headers["content-type"] == "application/problem+json"
        got = (await client.get(f"/tasks/{task['id']}", headers=bearer(alice))).json()
        assert got["title"] == "second"

    async def test_unknown_and_invalid_fields_are_all_listed(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice)
        response = await client.patch(
            f"/tasks/{task['id']}",
            json={"title": "", "status": "DONE", "ownerId": alice["user"]["id"]},
            headers=bearer(alice),
        )
        assert response.status_code == 400
        assert {e["field"] for e in response.json()["errors"]} == {"title", "status", "ownerId"}


class TestDelete:
    async def test_deleted_task_is_gone_but_its_events_stay(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        task = await create_task(client, alice)
        response = await client.delete(f"/tasks/{task['id']}", headers=bearer(alice))
        assert response.status_code == 204
        assert (await client.get(f"/tasks/{task['id']}", headers=bearer(alice))).status_code == 404
        assert (await client.delete(f"/tasks/{task['id']}", headers=bearer(alice))).status_code == 404
        patched = await client.patch(f"/tasks/{task['id']}", json={"title": "zombie"}, headers=bearer(alice))
        assert patched.status_code == 404
        assert await event_types(settings, task["id"]) == ["TaskCreated", "TaskDeleted"]

    async def test_if_match_stale_is_412(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice)
        response = await client.delete(f"/tasks/{task['id']}", headers=bearer(alice) | {"If-Match": '"7"'})
        assert response.status_code == 412


class TestOwnership:
    async def test_another_users_task_is_404_on_every_route(
        self, client: Client, alice: Session, bob: Session, settings: Settings
    ) -> None:
        task = await create_task(client, alice)
        url = f"/tasks/{task['id']}"
        assert (await client.get(url, headers=bearer(bob))).status_code == 404
        assert (await client.patch(url, json={"title": "mine"}, headers=bearer(bob))).status_code == 404
        assert (await client.delete(url, headers=bearer(bob))).status_code == 404
        assert await event_types(settings, task["id"]) == ["TaskCreated"]

    async def test_a_missing_task_looks_the_same_as_a_foreign_one(
        self, client: Client, alice: Session, bob: Session
    ) -> None:
        task = await create_task(client, alice)
        foreign = await client.get(f"/tasks/{task['id']}", headers=bearer(bob))
        missing = await client.get("/tasks/00000000-0000-4000-8000-000000000000", headers=bearer(bob))
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json()["detail"] == missing.json()["detail"]

    async def test_an_admin_acts_on_any_task(self, client: Client, alice: Session, admin: Session) -> None:
        task = await create_task(client, alice)
        url = f"/tasks/{task['id']}"
        assert (await client.get(url, headers=bearer(admin))).status_code == 200
        assert (await client.patch(url, json={"title": "by admin"}, headers=bearer(admin))).status_code == 200
        assert (await client.delete(url, headers=bearer(admin))).status_code == 204


class TestList:
    async def test_users_see_their_own_tasks_newest_first(self, client: Client, alice: Session, bob: Session) -> None:
        first = await create_task(client, alice, title="first")
        second = await create_task(client, alice, title="second")
        await create_task(client, bob, title="bob's")
        body = (await client.get("/tasks", headers=bearer(alice))).json()
        assert [t["id"] for t in body["data"]] == [second["id"], first["id"]]
        assert body["nextCursor"] is None

    async def test_filters_by_status_and_priority(self, client: Client, alice: Session) -> None:
        await create_task(client, alice, title="a", status="PENDING", priority="LOW")
        b = await create_task(client, alice, title="b", status="IN_PROGRESS", priority="HIGH")
        c = await create_task(client, alice, title="c", status="COMPLETED", priority="HIGH")
        response = await client.get("/tasks?status=IN_PROGRESS&status=COMPLETED&priority=HIGH", headers=bearer(alice))
        assert {t["id"] for t in response.json()["data"]} == {b["id"], c["id"]}

    async def test_pages_return_every_task_once(self, client: Client, alice: Session) -> None:
        created = [await create_task(client, alice, title=f"t{i}") for i in range(7)]
        seen: list[str] = []
        cursor: str | None = None
        while True:
            url = "/tasks?limit=3" + (f"&cursor={cursor}" if cursor else "")
            page = (await client.get(url, headers=bearer(alice))).json()
            seen += [t["id"] for t in page["data"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert seen == [t["id"] for t in reversed(created)]

    async def test_a_forged_cursor_is_400(self, client: Client, alice: Session) -> None:
        response = await client.get("/tasks?cursor=eyJhIjoxfQ.AAAA", headers=bearer(alice))
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "cursor"

    async def test_admins_see_everything_or_one_owner(
        self, client: Client, alice: Session, bob: Session, admin: Session
    ) -> None:
        a = await create_task(client, alice)
        b = await create_task(client, bob)
        everything = (await client.get("/tasks", headers=bearer(admin))).json()["data"]
        assert {t["id"] for t in everything} == {a["id"], b["id"]}
        only_bob = (await client.get(f"/tasks?ownerId={bob['user']['id']}", headers=bearer(admin))).json()["data"]
        assert [t["id"] for t in only_bob] == [b["id"]]

    async def test_a_user_may_not_list_another_owner(self, client: Client, alice: Session, bob: Session) -> None:
        response = await client.get(f"/tasks?ownerId={bob['user']['id']}", headers=bearer(alice))
        assert response.status_code == 403

    async def test_invalid_query_parameters_are_400(self, client: Client, alice: Session) -> None:
        response = await client.get("/tasks?limit=101&status=DONE", headers=bearer(alice))
        assert response.status_code == 400
        assert {e["field"] for e in response.json()["errors"]} == {"limit", "status"}


class TestBatch:
    async def test_complete_reports_per_task(
        self, client: Client, alice: Session, bob: Session, settings: Settings
    ) -> None:
        mine = [await create_task(client, alice) for _ in range(3)]
        done = await create_task(client, alice, status="COMPLETED")
        foreign = await create_task(client, bob)
        missing = "00000000-0000-4000-8000-000000000000"
        ids = [t["id"] for t in mine] + [done["id"], foreign["id"], missing]
        response = await client.post("/tasks/batch", json={"action": "complete", "taskIds": ids}, headers=bearer(alice))
        assert response.status_code == 200
        body = response.json()
        assert (body["succeeded"], body["failed"]) == (4, 2)
        results = {r["taskId"]: r for r in body["results"]}
        assert all(results[t["id"]]["ok"] for t in [*mine, done])
        assert results[foreign["id"]] == {
            "taskId": foreign["id"],
            "ok": False,
            "error": {"status": 404, "title": "Not Found"},
        }
        assert results[missing]["error"]["status"] == 404
        assert await event_types(settings, done["id"]) == ["TaskCreated"]
        assert await event_types(settings, foreign["id"]) == ["TaskCreated"]
        for task in mine:
            got = (await client.get(f"/tasks/{task['id']}", headers=bearer(alice))).json()
            assert got["status"] == "COMPLETED"

    async def test_delete(self, client: Client, alice: Session) -> None:
        tasks = [await create_task(client, alice) for _ in range(2)]
        response = await client.post(
            "/tasks/batch", json={"action": "delete", "taskIds": [t["id"] for t in tasks]}, headers=bearer(alice)
        )
        assert response.json()["succeeded"] == 2
        assert (await client.get("/tasks", headers=bearer(alice))).json()["data"] == []

    async def test_a_thousand_tasks_in_one_request(self, client: Client, alice: Session, settings: Settings) -> None:
        assert settings.database_url
        ids = [(await create_task(client, alice, title=f"t{i}"))["id"] for i in range(1000)]
        response = await client.post("/tasks/batch", json={"action": "complete", "taskIds": ids}, headers=bearer(alice))
        assert response.json()["succeeded"] == 1000
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            cursor = await conn.execute(
                "SELECT count(*), count(DISTINCT transaction_id::text) FROM events WHERE type = 'TaskCompleted'"
            )
            assert await cursor.fetchone() == (1000, 1)

    async def test_limits_on_the_id_list(self, client: Client, alice: Session) -> None:
        empty = await client.post("/tasks/batch", json={"action": "complete", "taskIds": []}, headers=bearer(alice))
        too_many = await client.post(
            "/tasks/batch",
            json={"action": "complete", "taskIds": ["00000000-0000-4000-8000-000000000000"] * 1001},
            headers=bearer(alice),
        )
        bad_action = await client.post(
            "/tasks/batch", json={"action": "archive", "taskIds": ["nope"]}, headers=bearer(alice)
        )
        assert (empty.status_code, too_many.status_code, bad_action.status_code) == (400, 400, 400)
        assert {e["field"] for e in bad_action.json()["errors"]} == {"action", "taskIds.0"}


class TestTimeTravelAndConditionalReads:
    async def test_a_version_or_a_moment_gives_the_task_as_it_was(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, title="first")
        second = (await client.patch(f"/tasks/{task['id']}", json={"title": "second"}, headers=bearer(alice))).json()
        await client.patch(f"/tasks/{task['id']}", json={"title": "third"}, headers=bearer(alice))
        v1 = await client.get(f"/tasks/{task['id']}", params={"version": 1}, headers=bearer(alice))
        assert (v1.json()["title"], v1.json()["version"], v1.headers["etag"]) == ("first", 1, '"1"')
        at = await client.get(f"/tasks/{task['id']}", params={"asOf": second["updatedAt"]}, headers=bearer(alice))
        assert at.json() == second
        assert (
            await client.get(f"/tasks/{task['id']}", params={"version": 9}, headers=bearer(alice))
        ).status_code == 404
        before = await client.get(
            f"/tasks/{task['id']}", params={"asOf": "2000-01-01T00:00:00Z"}, headers=bearer(alice)
        )
        assert before.status_code == 404
        both = await client.get(
            f"/tasks/{task['id']}", params={"version": 1, "asOf": second["updatedAt"]}, headers=bearer(alice)
        )
        assert both.status_code == 400

    async def test_history_outlives_the_task_but_not_for_strangers(
        self, client: Client, alice: Session, bob: Session
    ) -> None:
        task = await create_task(client, alice, title="gone")
        await client.delete(f"/tasks/{task['id']}", headers=bearer(alice))
        assert (await client.get(f"/tasks/{task['id']}", headers=bearer(alice))).status_code == 404
        v1 = await client.get(f"/tasks/{task['id']}", params={"version": 1}, headers=bearer(alice))
        assert v1.json()["title"] == "gone"
        stranger = await client.get(f"/tasks/{task['id']}", params={"version": 1}, headers=bearer(bob))
        assert stranger.status_code == 404

    async def test_if_none_match_is_answered_304(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice)
        same = await client.get(f"/tasks/{task['id']}", headers=bearer(alice) | {"If-None-Match": '"1"'})
        assert (same.status_code, same.headers["etag"], same.content) == (304, '"1"', b"")
        await client.patch(f"/tasks/{task['id']}", json={"title": "changed"}, headers=bearer(alice))
        changed = await client.get(f"/tasks/{task['id']}", headers=bearer(alice) | {"If-None-Match": '"1"'})
        assert changed.status_code == 200
        assert changed.headers["etag"] == '"2"'


class TestStats:
    async def test_counts_follow_every_change(self, client: Client, alice: Session, bob: Session) -> None:
        past, future = "2020-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
        a = await create_task(client, alice, priority="HIGH", dueDate=past)
        b = await create_task(client, alice, status="IN_PROGRESS", dueDate=past)
        await create_task(client, alice, status="COMPLETED", priority="HIGH", dueDate=past)
        await create_task(client, alice, dueDate=future)
        await create_task(client, bob)
        stats = (await client.get("/tasks/stats", headers=bearer(alice))).json()
        # Overdue only once the scheduler's check has marked them (tests/e2e/test_overdue_api.py).
        assert stats == {"total": 4, "pending": 2, "inProgress": 1, "completed": 1, "highPriority": 2, "overdue": 0}
        await client.patch(f"/tasks/{a['id']}", json={"status": "COMPLETED", "priority": "LOW"}, headers=bearer(alice))
        await client.delete(f"/tasks/{b['id']}", headers=bearer(alice))
        stats = (await client.get("/tasks/stats", headers=bearer(alice))).json()
        assert stats == {"total": 3, "pending": 1, "inProgress": 0, "completed": 2, "highPriority": 1, "overdue": 0}

    async def test_admins_see_all_or_one_owner_and_users_only_themselves(
        self, client: Client, alice: Session, bob: Session, admin: Session
    ) -> None:
        await create_task(client, alice)
        await create_task(client, bob)
        await create_task(client, bob)
        assert (await client.get("/tasks/stats", headers=bearer(admin))).json()["total"] == 3
        only_bob = await client.get("/tasks/stats", params={"ownerId": bob["user"]["id"]}, headers=bearer(admin))
        assert only_bob.json()["total"] == 2
        refused = await client.get("/tasks/stats", params={"ownerId": bob["user"]["id"]}, headers=bearer(alice))
        assert refused.status_code == 403


class TestIdempotencyKeys:
    async def test_a_repeat_gets_the_first_response_and_creates_nothing(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        headers = bearer(alice) | {"Idempotency-Key": "create-1"}
        first = await client.post("/tasks", json={"title": "once"}, headers=headers)
        await client.patch(f"/tasks/{first.json()['id']}", json={"title": "changed"}, headers=bearer(alice))
        again = await client.post("/tasks", json={"title": "once"}, headers=headers)
        assert (again.status_code, again.json()) == (201, first.json())
        assert again.headers["location"] == first.headers["location"]
        listed = (await client.get("/tasks", headers=bearer(alice))).json()["data"]
        assert len(listed) == 1

    async def test_the_same_key_with_another_body_is_409(self, client: Client, alice: Session) -> None:
        headers = bearer(alice) | {"Idempotency-Key": "create-2"}
        assert (await client.post("/tasks", json={"title": "one"}, headers=headers)).status_code == 201
        other = await client.post("/tasks", json={"title": "two"}, headers=headers)
        assert other.status_code == 409
        assert other.json()["type"].endswith("idempotency-key-reused")

    async def test_keys_are_per_user(self, client: Client, alice: Session, bob: Session) -> None:
        key = {"Idempotency-Key": "shared"}
        a = await client.post("/tasks", json={"title": "t"}, headers=bearer(alice) | key)
        b = await client.post("/tasks", json={"title": "t"}, headers=bearer(bob) | key)
        assert a.json()["id"] != b.json()["id"]

    async def test_concurrent_repeats_create_one_task(self, client: Client, alice: Session) -> None:
        headers = bearer(alice) | {"Idempotency-Key": "race"}
        responses = await asyncio.gather(
            *(client.post("/tasks", json={"title": "race"}, headers=headers) for _ in range(5))
        )
        assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
        assert len((await client.get("/tasks", headers=bearer(alice))).json()["data"]) == 1

    async def test_a_batch_repeat_applies_nothing_more(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        task = await create_task(client, alice)
        body = {"action": "delete", "taskIds": [task["id"]]}
        headers = bearer(alice) | {"Idempotency-Key": "batch-1"}
        first = await client.post("/tasks/batch", json=body, headers=headers)
        again = await client.post("/tasks/batch", json=body, headers=headers)
        assert (
            first.json()
            == again.json()
            == {
                "results": [{"taskId": task["id"], "ok": True}],
                "succeeded": 1,
                "failed": 0,
            }
        )
        assert await event_types(settings, task["id"]) == ["TaskCreated", "TaskDeleted"]

    async def test_a_malformed_key_is_400(self, client: Client, alice: Session) -> None:
        for key in ("", "x" * 256, "tab\there"):
            response = await client.post(
                "/tasks", json={"title": "t"}, headers=bearer(alice) | {"Idempotency-Key": key}
            )
            assert response.status_code == 400, repr(key)


class TestHistory:
    async def test_every_event_in_version_order_even_after_deletion(
        self, client: Client, alice: Session, bob: Session, admin: Session
    ) -> None:
        task = await create_task(client, alice, title="one")
        headers = bearer(alice) | {"X-Request-ID": "req-history"}
        await client.patch(f"/tasks/{task['id']}", json={"title": "two", "status": "COMPLETED"}, headers=headers)
        await client.delete(f"/tasks/{task['id']}", headers=bearer(alice))
        history = (await client.get(f"/tasks/{task['id']}/history", headers=bearer(alice))).json()["data"]
        assert [(e["version"], e["type"]) for e in history] == [
            (1, "TaskCreated"),
            (2, "TaskUpdated"),
            (3, "TaskCompleted"),
            (4, "TaskDeleted"),
        ]
        assert history[1]["data"] == {"title": "two"}
        assert history[1]["metadata"]["requestId"] == "req-history"
        assert set(history[0]) == {
            "position",
            "streamId",
            "streamType",
            "version",
            "type",
            "schemaVersion",
            "data",
            "metadata",
            "recordedAt",
        }
        assert (await client.get(f"/tasks/{task['id']}/history", headers=bearer(admin))).status_code == 200
        assert (await client.get(f"/tasks/{task['id']}/history", headers=bearer(bob))).status_code == 404
        user_stream = await client.get(f"/tasks/{alice['user']['id']}/history", headers=bearer(alice))
        assert user_stream.status_code == 404


class TestActivity:
    async def test_per_day_counts_once_the_projection_has_read_the_log(
        self, client: Client, alice: Session, bob: Session, admin: Session, settings: Settings
    ) -> None:
        a = await create_task(client, alice, status="COMPLETED")
        b = await create_task(client, alice)
        await create_task(client, bob)
        await client.delete(f"/tasks/{b['id']}", headers=bearer(alice))
        before = (await client.get("/tasks/activity", headers=bearer(alice))).json()
        assert before["asOfPosition"] == 0, "nothing read yet: the projection is asynchronous"
        async with open_pool(settings.database_url or "", size=1, checkout_seconds=5) as pool:
            while await run_batch(pool, ProjectionFollower(TASK_ACTIVITY)):
                pass
        today = a["createdAt"][:10]
        mine = (await client.get("/tasks/activity", params={"from": today, "to": today}, headers=bearer(alice))).json()
        assert mine["data"] == [{"date": today, "created": 2, "completed": 1, "deleted": 1}]
        assert mine["asOfPosition"] > 0
        everyone = await client.get("/tasks/activity", params={"from": today, "to": today}, headers=bearer(admin))
        assert everyone.json()["data"][0]["created"] == 3
        month = (await client.get("/tasks/activity", headers=bearer(alice))).json()["data"]
        assert len(month) == 30
        assert month[-1]["date"] == today

    async def test_ranges_and_roles(self, client: Client, alice: Session, bob: Session) -> None:
        too_long = await client.get(
            "/tasks/activity", params={"from": "2025-01-01", "to": "2026-06-01"}, headers=bearer(alice)
        )
        assert too_long.status_code == 400
        backwards = await client.get(
            "/tasks/activity", params={"from": "2026-02-01", "to": "2026-01-01"}, headers=bearer(alice)
        )
        assert backwards.status_code == 400
        other = await client.get("/tasks/activity", params={"ownerId": bob["user"]["id"]}, headers=bearer(alice))
        assert other.status_code == 403


class TestActivityEdges:
    async def test_the_earliest_dates_and_a_full_366_days(self, client: Client, alice: Session) -> None:
        early = await client.get("/tasks/activity", params={"to": "0001-01-10"}, headers=bearer(alice))
        assert early.status_code == 400
        year = await client.get(
            "/tasks/activity", params={"from": "2024-01-01", "to": "2025-01-01"}, headers=bearer(alice)
        )
        assert year.status_code == 200
        assert len(year.json()["data"]) == 367

"""One stream for auditors over HTTP: each event with the state before and after it (the aggregate's fold), the state
as of a version or a moment, and the stream's hash chain verified, tampering included."""

from typing import Any
from uuid import uuid4

import psycopg
import pytest

from infrastructure.settings import Settings
from tests.e2e.helpers import Client, bearer, create_task, tamper

Session = dict[str, Any]


async def history(client: Client, admin: Session, stream_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/admin/streams/{stream_id}", params=params, headers=bearer(admin))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def verification(client: Client, admin: Session, stream_id: str) -> dict[str, Any]:
    response = await client.get(f"/admin/streams/{stream_id}/verification", headers=bearer(admin))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def a_task_in_three_versions(client: Client, owner: Session) -> dict[str, Any]:
    task = await create_task(client, owner, title="First title", priority="LOW")
    await client.patch(f"/tasks/{task['id']}", json={"title": "Second title"}, headers=bearer(owner))
    await client.patch(f"/tasks/{task['id']}", json={"status": "COMPLETED"}, headers=bearer(owner))
    return task


class TestTimeline:
    async def test_each_event_comes_with_the_state_before_and_after_it(
        self, client: Client, admin: Session, alice: Session
    ) -> None:
        task = await a_task_in_three_versions(client, alice)
        body = await history(client, admin, task["id"])
        assert (body["streamType"], body["version"], body["latestVersion"], body["nextAfter"]) == ("task", 3, 3, None)
        created, renamed, completed = body["events"]
        assert created["type"] == "TaskCreated"
        assert created["metadata"]["actorId"] == alice["user"]["id"]
        assert created["before"]["created"] is False, "before the first event: the aggregate's initial state"
        assert (created["after"]["title"], created["after"]["ownerId"]) == ("First title", alice["user"]["id"])
        assert renamed["before"] == created["after"]
        assert renamed["changes"] == [{"field": "title", "before": "First title", "after": "Second title"}]
        assert completed["changes"] == [{"field": "status", "before": "PENDING", "after": "COMPLETED"}]
        assert body["state"] == completed["after"]

    async def test_the_state_as_of_a_version_or_a_moment_is_the_tasks_own_then(
        self, client: Client, admin: Session, alice: Session
    ) -> None:
        task = await a_task_in_three_versions(client, alice)
        for version in (1, 2, 3):
            then = await history(client, admin, task["id"], version=version)
            shown = (
                await client.get(f"/tasks/{task['id']}", params={"version": version}, headers=bearer(alice))
            ).json()
            assert (then["version"], then["latestVersion"]) == (version, 3)
            assert [e["version"] for e in then["events"]] == list(range(1, version + 1))
            state = then["state"]
            assert (state["title"], state["status"], state["priority"]) == (shown["title"], shown["status"], "LOW")
            moment = await history(client, admin, task["id"], asOf=then["recordedAt"])
            assert moment["state"] == state
            assert moment["version"] == version

    async def test_the_timeline_is_paged(self, client: Client, admin: Session, alice: Session) -> None:
        task = await a_task_in_three_versions(client, alice)
        first = await history(client, admin, task["id"], limit=2)
        assert ([e["version"] for e in first["events"]], first["nextAfter"]) == ([1, 2], 2)
        rest = await history(client, admin, task["id"], limit=2, after=first["nextAfter"])
        assert ([e["version"] for e in rest["events"]], rest["nextAfter"]) == ([3], None)
        assert rest["events"][0]["before"] == first["events"][-1]["after"], "each page folds from the first event"

    async def test_moments_and_versions_the_stream_never_had_are_not_found(
        self, client: Client, admin: Session, alice: Session
    ) -> None:
        task = await a_task_in_three_versions(client, alice)
        path = f"/admin/streams/{task['id']}"
        assert (await client.get(path, params={"version": 4}, headers=bearer(admin))).status_code == 404
        early = await client.get(path, params={"asOf": "2000-01-01T00:00:00Z"}, headers=bearer(admin))
        assert early.status_code == 404
        both = await client.get(path, params={"version": 1, "asOf": "2030-01-01T00:00:00Z"}, headers=bearer(admin))
        assert both.status_code == 400
        assert (await client.get(path, params={"asOf": "12345"}, headers=bearer(admin))).status_code == 400
        assert (await client.get(f"/admin/streams/{uuid4()}", headers=bearer(admin))).status_code == 404

    async def test_a_stream_this_code_cannot_fold_still_shows_its_events(
        self, client: Client, admin: Session, settings: Settings
    ) -> None:
        stream_id = str(uuid4())
        assert settings.database_url
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO events (stream_id, stream_type, version, type, data, metadata, recorded_at, hash)"
                " VALUES (%s, 'invoice', 1, 'InvoiceIssued', '{\"total\": 3}', '{}', now(), '\\x00')",
                (stream_id,),
            )
        body = await history(client, admin, stream_id)
        assert body["state"] is None
        [event] = body["events"]
        assert (event["type"], event["data"], event["before"], event["after"]) == (
            "InvoiceIssued",
            {"total": 3},
            None,
            None,
        )


class TestVerification:
    async def test_an_untouched_stream_is_intact(self, client: Client, admin: Session, alice: Session) -> None:
        task = await a_task_in_three_versions(client, alice)
        assert await verification(client, admin, task["id"]) == {
            "streamId": task["id"],
            "events": 3,
            "intact": True,
            "firstBrokenVersion": None,
        }

    async def test_an_edited_event_breaks_the_chain_where_it_was_edited(
        self, client: Client, admin: Session, alice: Session, settings: Settings
    ) -> None:
        task = await a_task_in_three_versions(client, alice)
        assert settings.database_url
        tamper(settings.database_url, task["id"], 2, {"title": "Forged title"})
        assert await verification(client, admin, task["id"]) == {
            "streamId": task["id"],
            "events": 3,
            "intact": False,
            "firstBrokenVersion": 2,
        }
        shown = await history(client, admin, task["id"], version=2)
        assert shown["state"]["title"] == "Forged title", "the history shows what is stored; the chain tells"

    @pytest.mark.parametrize("path", ["", "/verification"])
    async def test_only_admins_may_look(self, client: Client, admin: Session, alice: Session, path: str) -> None:
        task = await create_task(client, alice)
        assert (await client.get(f"/admin/streams/{task['id']}{path}", headers=bearer(alice))).status_code == 403
        assert (await client.get(f"/admin/streams/{task['id']}{path}")).status_code == 401
        missing = await client.get(f"/admin/streams/{uuid4()}{path}", headers=bearer(admin))
        assert missing.status_code == 404

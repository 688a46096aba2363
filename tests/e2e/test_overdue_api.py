"""Overdue over HTTP: the scheduler (run here as its process runs it) marks tasks past their due date, and lists,
stats, the task, its history and the admin feed show it, through caches filled before it ran."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from application.overdue import SCHEDULER_ACTOR
from infrastructure.processes.scheduler import run_scheduler
from infrastructure.settings import Settings
from tests.e2e.helpers import Client, bearer, create_task
from tests.integration.test_refund_jobs import eventually

Session = dict[str, Any]
PAST, FUTURE = "2020-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


@asynccontextmanager
async def scheduler(settings: Settings) -> AsyncIterator[None]:
    """The scheduler process's work (refund dispatch and the overdue check, every second here) until the block ends."""
    stop = asyncio.Event()
    running = asyncio.create_task(run_scheduler(msgspec.structs.replace(settings, overdue_check_seconds=1.0), stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)


class TestOverdue:
    async def test_tasks_past_their_due_date_become_overdue_everywhere_a_client_looks(
        self, client: Client, alice: Session, admin: Session, settings: Settings
    ) -> None:
        late = await create_task(client, alice, dueDate=PAST, priority="HIGH")
        await create_task(client, alice, dueDate=FUTURE)
        await create_task(client, alice, dueDate=PAST, status="COMPLETED")
        await create_task(client, alice)
        assert late["overdue"] is False

        async def listed() -> list[dict[str, Any]]:
            response = await client.get("/tasks", params={"overdue": "true"}, headers=bearer(alice))
            assert response.status_code == 200, response.text
            data: list[dict[str, Any]] = response.json()["data"]
            return data

        async def stats() -> dict[str, Any]:
            body: dict[str, Any] = (await client.get("/tasks/stats", headers=bearer(alice))).json()
            return body

        # Read, so cached, before the check: the check's commit must make these stale.
        assert await listed() == []
        assert (await stats())["overdue"] == 0
        assert (await client.get(f"/tasks/{late['id']}", headers=bearer(alice))).json()["overdue"] is False

        async def marked() -> bool:
            return bool((await stats())["overdue"] == 1)

        async with scheduler(settings):
            await eventually(marked)
        shown = (await client.get(f"/tasks/{late['id']}", headers=bearer(alice))).json()
        assert (shown["overdue"], shown["version"]) == (True, 2)
        assert [task["id"] for task in await listed()] == [late["id"]]
        history = (await client.get(f"/tasks/{late['id']}/history", headers=bearer(alice))).json()["data"]
        became = history[-1]
        assert (became["type"], became["data"], became["metadata"]["actorId"]) == (
            "TaskBecameOverdue",
            {"dueDate": PAST},
            SCHEDULER_ACTOR,
        )
        assert became["metadata"]["correlationId"]
        feed = await client.get("/admin/events", params={"type": "TaskBecameOverdue"}, headers=bearer(admin))
        assert [event["streamId"] for event in feed.json()["data"]] == [late["id"]]

    async def test_completing_or_a_later_due_date_ends_it(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        done = await create_task(client, alice, dueDate=PAST)
        moved = await create_task(client, alice, dueDate=PAST)
        async with scheduler(settings):

            async def both() -> bool:
                body = (await client.get("/tasks/stats", headers=bearer(alice))).json()
                return bool(body["overdue"] == 2)

            await eventually(both)
        await client.patch(f"/tasks/{done['id']}", json={"status": "COMPLETED"}, headers=bearer(alice))
        await client.patch(f"/tasks/{moved['id']}", json={"dueDate": FUTURE}, headers=bearer(alice))
        assert (await client.get("/tasks/stats", headers=bearer(alice))).json()["overdue"] == 0
        listed = await client.get("/tasks", params={"overdue": "true"}, headers=bearer(alice))
        assert listed.json()["data"] == []
        for task in (done, moved):
            assert (await client.get(f"/tasks/{task['id']}", headers=bearer(alice))).json()["overdue"] is False

    async def test_overdue_must_be_a_boolean(self, client: Client, alice: Session) -> None:
        response = await client.get("/tasks", params={"overdue": "soon"}, headers=bearer(alice))
        assert response.status_code == 400

"""The refund routes over HTTP: request, read, who may, what conflicts, and the dead-letter queue's admin routes.
No worker runs here, so a requested refund stays REQUESTED (the jobs have tests of their own)."""

from typing import Any
from uuid import uuid4

from tests.e2e.helpers import Client, bearer, create_task

Session = dict[str, Any]
FEE = {"amount": 1999, "currency": "EUR"}


async def refund(client: Client, session: Session, task_id: str, **headers: str) -> Any:
    return await client.post(f"/tasks/{task_id}/refund", headers=bearer(session) | headers)


class TestRequest:
    async def test_a_refund_is_accepted_and_shows_on_the_task(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, fee=FEE)
        before = await client.get(f"/tasks/{task['id']}", headers=bearer(alice))  # cached now
        assert before.json()["refund"] is None
        response = await refund(client, alice, task["id"])
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["taskId"] == task["id"]
        assert (body["amount"], body["currency"], body["status"], body["attempts"]) == (1999, "EUR", "REQUESTED", 0)
        assert (body["lastError"], body["completedAt"]) == (None, None)
        assert response.headers["location"] == f"/refunds/{body['id']}"

        read = await client.get(f"/refunds/{body['id']}", headers=bearer(alice))
        assert read.status_code == 200
        assert read.json() == body
        shown = await client.get(f"/tasks/{task['id']}", headers=bearer(alice))
        assert shown.json()["refund"] == body
        assert shown.headers["etag"] == '"2"'  # the request is an event of the task too
        listed = await client.get("/tasks", headers=bearer(alice))
        assert listed.json()["data"][0]["refund"] == body

    async def test_a_task_is_refunded_once(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, fee=FEE)
        assert (await refund(client, alice, task["id"])).status_code == 202
        again = await refund(client, alice, task["id"])
        assert again.status_code == 409
        assert again.json()["type"] == "urn:taskflow:problem:refund-already-requested"

    async def test_a_task_without_a_fee_has_nothing_to_refund(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice)
        response = await refund(client, alice, task["id"])
        assert response.status_code == 409
        assert response.json()["type"] == "urn:taskflow:problem:no-fee"

    async def test_the_fee_is_fixed_once_its_refund_is_requested(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, fee=FEE)
        requested = (await refund(client, alice, task["id"])).json()
        changed = await client.patch(
            f"/tasks/{task['id']}", json={"fee": {"amount": 1, "currency": "EUR"}}, headers=bearer(alice)
        )
        assert changed.status_code == 409
        assert changed.json()["type"] == "urn:taskflow:problem:fee-locked"
        renamed = await client.patch(f"/tasks/{task['id']}", json={"title": "Renamed"}, headers=bearer(alice))
        assert renamed.status_code == 200
        assert renamed.json()["refund"] == requested
        assert renamed.json()["fee"] == FEE

    async def test_an_idempotency_key_repeat_gets_the_same_refund(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, fee=FEE)
        first = await refund(client, alice, task["id"], **{"Idempotency-Key": "refund-1"})
        repeat = await refund(client, alice, task["id"], **{"Idempotency-Key": "refund-1"})
        assert (first.status_code, repeat.status_code) == (202, 202)
        assert repeat.json() == first.json()

    async def test_deleting_a_task_with_a_fee_requests_its_refund(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, fee=FEE)
        assert (await client.delete(f"/tasks/{task['id']}", headers=bearer(alice))).status_code == 204
        history = (await client.get(f"/tasks/{task['id']}/history", headers=bearer(alice))).json()["data"]
        assert [event["type"] for event in history] == ["TaskCreated", "TaskDeleted", "TaskRefundRequested"]
        refund_id = history[-1]["data"]["refundId"]
        read = await client.get(f"/refunds/{refund_id}", headers=bearer(alice))
        assert (read.status_code, read.json()["status"], read.json()["amount"]) == (200, "REQUESTED", 1999)

    async def test_batch_deletion_requests_a_refund_per_task_with_a_fee(self, client: Client, alice: Session) -> None:
        paid = [await create_task(client, alice, fee=FEE) for _ in range(3)]
        free = await create_task(client, alice)
        ids = [task["id"] for task in [*paid, free]]
        response = await client.post("/tasks/batch", json={"action": "delete", "taskIds": ids}, headers=bearer(alice))
        assert response.json()["succeeded"] == 4
        for task in paid:
            history = (await client.get(f"/tasks/{task['id']}/history", headers=bearer(alice))).json()["data"]
            assert history[-1]["type"] == "TaskRefundRequested"
        history = (await client.get(f"/tasks/{free['id']}/history", headers=bearer(alice))).json()["data"]
        assert history[-1]["type"] == "TaskDeleted"


class TestWhoMay:
    async def test_another_users_task_and_refund_are_not_found(
        self, client: Client, alice: Session, bob: Session
    ) -> None:
        task = await create_task(client, alice, fee=FEE)
        assert (await refund(client, bob, task["id"])).status_code == 404
        requested = (await refund(client, alice, task["id"])).json()
        assert (await client.get(f"/refunds/{requested['id']}", headers=bearer(bob))).status_code == 404
        assert (await client.get(f"/refunds/{uuid4()}", headers=bearer(alice))).status_code == 404
        assert (await refund(client, alice, str(uuid4()))).status_code == 404

    async def test_an_admin_may_request_and_read_any_refund(
        self, client: Client, alice: Session, admin: Session
    ) -> None:
        task = await create_task(client, alice, fee=FEE)
        requested = await refund(client, admin, task["id"])
        assert requested.status_code == 202
        read = await client.get(f"/refunds/{requested.json()['id']}", headers=bearer(admin))
        assert read.status_code == 200

    async def test_refunds_need_a_token(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, fee=FEE)
        assert (await client.post(f"/tasks/{task['id']}/refund")).status_code == 401
        assert (await client.get(f"/refunds/{uuid4()}")).status_code == 401


class TestDeadLetterRoutes:
    async def test_users_may_not_see_or_retry_dead_letters(self, client: Client, alice: Session) -> None:
        assert (await client.get("/admin/dead-letters", headers=bearer(alice))).status_code == 403
        retry = await client.post(f"/admin/dead-letters/{uuid4()}/retry", headers=bearer(alice))
        assert retry.status_code == 403

    async def test_only_a_failed_refund_can_be_retried(self, client: Client, alice: Session, admin: Session) -> None:
        listed = await client.get("/admin/dead-letters", headers=bearer(admin))
        assert (listed.status_code, listed.json()) == (200, {"data": [], "nextCursor": None})
        task = await create_task(client, alice, fee=FEE)
        requested = (await refund(client, alice, task["id"])).json()
        retry = await client.post(f"/admin/dead-letters/{requested['id']}/retry", headers=bearer(admin))
        assert retry.status_code == 409
        assert retry.json()["type"] == "urn:taskflow:problem:not-a-dead-letter"
        missing = await client.post(f"/admin/dead-letters/{uuid4()}/retry", headers=bearer(admin))
        assert missing.status_code == 404

    async def test_a_bad_cursor_is_a_400(self, client: Client, admin: Session) -> None:
        response = await client.get("/admin/dead-letters?cursor=forged.cursor", headers=bearer(admin))
        assert response.status_code == 400

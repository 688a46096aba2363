"""Wire conventions every route follows: problem details, request ids, body rules, dependency failures."""

import secrets
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from api.app import create_app
from infrastructure.settings import Settings
from tests.e2e.helpers import Client, assert_problem, bearer

Session = dict[str, Any]


class TestProblems:
    async def test_malformed_json_is_400(self, client: Client, alice: Session) -> None:
        response = await client.post(
            "/tasks", content=b'{"title": ', headers=bearer(alice) | {"Content-Type": "application/json"}
        )
        body = assert_problem(response, 400)
        assert body["errors"] == [{"field": "body", "message": "is not valid JSON"}]

    async def test_every_invalid_field_is_listed(self, client: Client, alice: Session) -> None:
        response = await client.post(
            "/tasks",
            json={
                "title": "bad\x00title",
                "priority": "URGENT",
                "dueDate": "tomorrow",
                "fee": {"amount": -5, "currency": "euro"},
                "colour": "red",
            },
            headers=bearer(alice),
        )
        body = assert_problem(response, 400)
        fields = {e["field"] for e in body["errors"]}
        assert fields == {"title", "priority", "dueDate", "fee.amount", "colour"}

    async def test_types_are_exact_no_number_for_a_timestamp_or_string_for_a_number(
        self, client: Client, alice: Session
    ) -> None:
        for fields in (
            {"dueDate": 0},
            {"dueDate": 1767225600.5},
            {"fee": {"amount": "500", "currency": "EUR"}},
            {"priority": 2},
        ):
            response = await client.post("/tasks", json={"title": "t"} | fields, headers=bearer(alice))
            body = assert_problem(response, 400)
            assert {e["field"].split(".")[0] for e in body["errors"]} == set(fields), body
        task = (await client.post("/tasks", json={"title": "t"}, headers=bearer(alice))).json()
        changed = await client.patch(
            f"/tasks/{task['id']}", json={"dueDate": 0}, headers=bearer(alice) | {"If-Match": '"1"'}
        )
        assert_problem(changed, 400)
        listed = await client.get("/tasks", headers=bearer(alice))
        assert [t["dueDate"] for t in listed.json()["data"]] == [None]
        for query in ("dueBefore=0.5", "dueAfter=1767225600", "dueBefore=2026-01-01"):
            assert_problem(await client.get(f"/tasks?{query}", headers=bearer(alice)), 400)
        assert_problem(await client.get(f"/tasks/{task['id']}?asOf=0", headers=bearer(alice)), 400)
        ok = await client.get("/tasks?dueBefore=2026-01-01T00:00:00%2B02:00", headers=bearer(alice))
        assert ok.status_code == 200

    async def test_a_json_body_that_is_not_an_object_is_400(self, client: Client, alice: Session) -> None:
        assert_problem(await client.post("/tasks", json=[1, 2], headers=bearer(alice)), 400)

    async def test_non_json_is_415(self, client: Client, alice: Session) -> None:
        response = await client.post(
            "/tasks", content=b"title=x", headers=bearer(alice) | {"Content-Type": "text/plain"}
        )
        assert_problem(response, 415)

    async def test_a_body_over_one_mebibyte_is_413(self, client: Client, alice: Session) -> None:
        huge = msgspec.json.encode({"title": "x", "description": "y" * (1024 * 1024)})
        response = await client.post(
            "/tasks", content=huge, headers=bearer(alice) | {"Content-Type": "application/json"}
        )
        assert_problem(response, 413)

    async def test_unknown_route_and_method(self, client: Client) -> None:
        assert_problem(await client.get("/nowhere"), 404)
        assert_problem(await client.put("/tasks"), 405)

    async def test_a_path_id_that_is_not_a_uuid_is_404(self, client: Client, alice: Session) -> None:
        assert_problem(await client.get("/tasks/42", headers=bearer(alice)), 404)


class TestRequestIds:
    async def test_a_sane_request_id_is_echoed(self, client: Client) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"

    async def test_an_insane_one_is_replaced(self, client: Client) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "<script>" + "x" * 300})
        assert response.headers["x-request-id"] != "<script>"
        assert len(response.headers["x-request-id"]) == 32

    async def test_security_headers_on_every_response(self, client: Client, alice: Session) -> None:
        task = (await client.post("/tasks", json={"title": "t"}, headers=bearer(alice))).json()
        responses = [
            await client.get("/health"),
            await client.get("/ready"),
            await client.get("/metrics"),
            await client.get("/nowhere"),
            await client.get("/schema/openapi.json"),
            await client.get("/schema/swagger"),
            await client.get("/tasks"),
            await client.get("/tasks", headers=bearer(alice)),
            await client.get("/tasks/stats", headers=bearer(alice)),
            await client.get(f"/tasks/{task['id']}", headers=bearer(alice)),
            await client.get(f"/tasks/{task['id']}", headers=bearer(alice) | {"If-None-Match": f'"{task["version"]}"'}),
            await client.get("/tasks", params={"limit": "0"}, headers=bearer(alice)),
            await client.get("/auth/me", headers=bearer(alice)),
            await client.get("/users", headers=bearer(alice)),
        ]
        assert {response.status_code for response in responses} >= {200, 304, 400, 401, 403, 404}
        for response in responses:
            where = f"{response.request.url}: {response.status_code}"
            assert response.headers["x-content-type-options"] == "nosniff", where
            assert response.headers["cache-control"] == "no-store", where
            assert response.headers["referrer-policy"] == "no-referrer", where


class TestOperations:
    async def test_health_and_ready(self, client: Client) -> None:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}

    async def test_openapi_and_swagger(self, client: Client) -> None:
        spec = (await client.get("/schema/openapi.json")).json()
        assert spec["openapi"].startswith("3.1")
        assert {"/tasks", "/tasks/{task_id}", "/tasks/batch", "/auth/register", "/auth/login"} <= set(spec["paths"])
        swagger = await client.get("/schema/swagger")
        assert swagger.status_code == 200
        assert "swagger" in swagger.text.lower()


class TestDatabaseDown:
    async def test_requests_get_503_with_retry_after(self, settings: Settings) -> None:
        down = msgspec.structs.replace(
            settings,
            database_url=f"postgresql://postgres@127.0.0.1:1/nowhere_{secrets.token_hex(3)}",
            database_timeout_seconds=0.5,
        )
        async with AsyncTestClient(app=create_app(down)) as client:
            response = await client.post(
                "/auth/register", json={"email": "d@example.com", "name": "D", "password": "long enough"}
            )
            body = assert_problem(response, 503)
            assert response.headers["retry-after"].isdigit()
            assert "unavailable" in body["detail"].lower()
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["postgres"] == "unavailable"

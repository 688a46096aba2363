"""Bodies built to hurt: deep nesting and floods of unknown fields are a short 400 problem on every JSON route."""

import itertools
import re
import string
from typing import Any
from uuid import uuid4

import msgspec

from api.validation import MAX_ERRORS, MAX_NESTING
from tests.e2e.helpers import INTERNAL_WORDING, WIRE_NAME, Client, assert_problem, bearer

Session = dict[str, Any]
JSON = {"Content-Type": "application/json"}


async def json_routes(client: Client) -> list[tuple[str, str, bool]]:
    """(method, path with ids filled in, whether it needs a token) of every operation that takes a JSON body."""
    document = (await client.get("/schema/openapi.json")).json()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", str(uuid4()), path), bool(operation.get("security")))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def nested(depth: int) -> list[bytes]:
    """Arrays and objects `depth` levels deep, and the same inside a string-keyed object."""
    arrays = b"[" * depth + b"]" * depth
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    return [arrays, objects, b'{"title": ' + arrays + b"}"]


class TestDeepNesting:
    async def test_every_json_route_refuses_deep_nesting_with_a_problem(self, client: Client, alice: Session) -> None:
        routes = await json_routes(client)
        assert len(routes) >= 6
        for method, path, protected in routes:
            headers = JSON | (bearer(alice) if protected else {})
            for depth in (MAX_NESTING + 1, 1_000, 100_000):
                for body in nested(depth):
                    response = await client.request(method, path, content=body, headers=headers)
                    problem = assert_problem(response, 400)
                    assert problem["errors"] == [
                        {"field": "body", "message": f"is nested more than {MAX_NESTING} levels deep"}
                    ], (method, path)
                    assert response.headers["x-content-type-options"] == "nosniff"
                    assert "content-security-policy" in response.headers

    async def test_brackets_inside_strings_are_not_nesting(self, client: Client, alice: Session) -> None:
        title = "[{" * 90
        created = await client.post("/tasks", json={"title": title, "description": "]}" * 500}, headers=bearer(alice))
        assert created.status_code == 201, created.text
        assert created.json()["title"] == title

    async def test_nesting_within_the_limit_is_judged_as_usual(self, client: Client, alice: Session) -> None:
        body = b'{"title": "t", "fee": ' + b"[" * (MAX_NESTING - 1) + b"]" * (MAX_NESTING - 1) + b"}"
        response = await client.post("/tasks", content=body, headers=JSON | bearer(alice))
        problem = assert_problem(response, 400)
        assert [e["field"] for e in problem["errors"]] == ["fee"]


class TestFloodsOfErrors:
    async def test_a_flood_of_unknown_fields_gets_the_first_fifty_and_a_count(
        self, client: Client, alice: Session
    ) -> None:
        names = ("".join(letters) for letters in itertools.product(string.ascii_uppercase, repeat=4))
        flood = dict.fromkeys(itertools.islice(names, 100_000), 1)
        body = msgspec.json.encode({"title": "\x00"} | flood)
        assert len(body) < 1024 * 1024
        response = await client.post("/tasks", content=body, headers=JSON | bearer(alice))
        problem = assert_problem(response, 400)
        assert len(response.content) < 10_000
        assert len(problem["errors"]) == MAX_ERRORS
        assert problem["errorsOmitted"] == 100_001 - MAX_ERRORS
        # The body's own fields come first, so the flood cannot hide them.
        assert problem["errors"][0]["field"] == "title"
        assert problem["errors"][1] == {"field": "AAAA", "message": "is not a known field"}

    async def test_an_unknown_field_is_named_as_sent_but_not_at_any_length(
        self, client: Client, alice: Session
    ) -> None:
        body = msgspec.json.encode({"title": "t", "k" * 500_000: 1, "colour": 1})
        response = await client.post("/tasks", content=body, headers=JSON | bearer(alice))
        problem = assert_problem(response, 400)
        assert len(response.content) < 2_000
        assert [error["field"] for error in problem["errors"]] == ["k" * 64 + "…", "colour"]

    async def test_a_short_list_has_no_count(self, client: Client, alice: Session) -> None:
        response = await client.post("/tasks", json={"colour": "red"}, headers=bearer(alice))
        problem = assert_problem(response, 400)
        assert "errorsOmitted" not in problem
        assert {e["field"] for e in problem["errors"]} == {"title", "colour"}


class TestPlainWords:
    async def invalid_fields(self, client: Client, alice: Session) -> set[tuple[str, str]]:
        """Every field error of a series of bad requests: (field, message)."""
        task = str(uuid4())
        me = bearer(alice)
        requests: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/tasks", {"params": {"ownerId": "x", "q": "a\x01", "limit": "0", "sort": "up", "overdue": "yes"}}),
            ("GET", "/tasks", {"params": {"status": "NOPE", "priority": "1", "limit": "1000"}}),
            ("GET", "/tasks", {"params": {"limit": "many", "cursor": "c" * 3000}}),
            ("GET", "/tasks/activity", {"params": {"from": "monday", "ownerId": "1"}}),
            ("GET", f"/tasks/{task}", {"params": {"version": "0"}}),
            ("GET", "/users", {"params": {"limit": "-1"}}),
            ("GET", "/admin/events", {"params": {"streamId": "s", "limit": "0"}}),
            ("POST", "/tasks", {"json": {"title": "t"}, "headers": {"Idempotency-Key": ""}}),
            ("POST", "/tasks", {"json": {"title": "t"}, "headers": {"Idempotency-Key": "k" * 300}}),
            ("POST", "/tasks", {"json": {"title": "t"}, "headers": {"Idempotency-Key": "caf\x7f"}}),
            ("POST", "/tasks", {"json": {"title": "t", "description": "\x01", "status": "DONE", "priority": 2}}),
            ("POST", "/tasks", {"json": {"title": 5, "dueDate": "soon", "ownerId": "me", "fee": {"amount": "1"}}}),
            ("POST", "/tasks", {"json": {"title": "t" * 300, "fee": {"amount": 0, "currency": "EUR"}}}),
            ("POST", "/tasks", {"json": {"title": "t", "fee": {"amount": 1, "currency": "eur"}}}),
            ("POST", "/tasks", {"json": {"title": "t", "fee": {"amount": 1, "currency": "EUR", "x": 1}}}),
            ("POST", "/tasks", {"json": {"title": "t", "fee": {"amount": 1}}}),
            ("POST", "/tasks", {"json": {"title": "t", "dueDate": "2026-01-01T00:00:00"}}),
            ("PATCH", f"/tasks/{task}", {"json": {"title": None, "fee": 5}}),
            ("POST", "/tasks/batch", {"json": {"action": "archive", "taskIds": []}}),
            ("POST", "/tasks/batch", {"json": {"action": "delete", "taskIds": ["x"]}}),
            ("PATCH", f"/users/{task}/role", {"json": {"role": "root"}}),
            ("POST", "/auth/register", {"json": {"email": "nope", "name": "", "password": "short"}}),
            ("POST", "/auth/login", {"json": {"email": 5, "password": ["x"]}}),
            ("POST", "/auth/refresh", {"json": {"refreshToken": "abc$"}}),
        ]
        found: set[tuple[str, str]] = set()
        for method, path, options in requests:
            options["headers"] = options.get("headers", {}) | me
            problem = assert_problem(await client.request(method, path, **options), 400)
            found |= {(error["field"], error["message"]) for error in problem["errors"]}
        return found

    async def test_fields_have_their_wire_names_and_messages_plain_words(self, client: Client, alice: Session) -> None:
        found = await self.invalid_fields(client, alice)
        for field, message in found:
            assert WIRE_NAME.match(field), field
            assert not INTERNAL_WORDING.search(message), (field, message)
        assert {
            ("q", "must not contain control characters"),
            ("description", "must not contain control characters"),
            ("ownerId", "must be a UUID"),
            ("streamId", "must be a UUID"),
            ("limit", "must be an integer"),
            ("limit", "must be at least 1"),
            ("limit", "must be at most 100"),
            ("cursor", "must be at most 2048 characters long"),
            ("from", "must be a date (YYYY-MM-DD)"),
            ("overdue", "must be true or false"),
            ("status", "must be one of PENDING, IN_PROGRESS, COMPLETED"),
            ("priority", "must be one of LOW, MEDIUM, HIGH"),
            ("Idempotency-Key", "must be at least 1 character long"),
            ("Idempotency-Key", "must be at most 255 characters long"),
            ("Idempotency-Key", "must be 1-255 printable ASCII characters"),
            ("title", "must be a string"),
            ("title", "must be 1-200 characters after trimming, with no control characters"),
            ("dueDate", "must be an RFC 3339 timestamp with an offset"),
            ("fee", "must be an object or null"),
            ("fee.amount", "must be an integer"),
            ("fee.amount", "must be at least 1"),
            ("fee.currency", "must be an ISO 4217 code of three capital letters"),
            ("fee.currency", "is required"),
            ("fee.x", "is not a known field"),
            ("taskIds", "must hold at least 1 item"),
            ("taskIds.0", "must be a UUID"),
            ("action", "must be one of complete, delete"),
            ("role", "must be one of admin, user"),
            ("email", "must be an email address"),
            ("email", "must be a string"),
            ("password", "must be a string"),
            ("password", "must be at least 8 characters long"),
            ("refreshToken", "must be a refresh token this service issued"),
        } <= found

"""Bodies built to hurt: deep nesting and floods of unknown fields are a short 400 problem on every JSON route."""

import itertools
import re
import string
from typing import Any
from uuid import uuid4

import msgspec

from api.validation import MAX_ERRORS, MAX_NESTING
from tests.e2e.helpers import Client, assert_problem, bearer

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

    async def test_a_short_list_has_no_count(self, client: Client, alice: Session) -> None:
        response = await client.post("/tasks", json={"colour": "red"}, headers=bearer(alice))
        problem = assert_problem(response, 400)
        assert "errorsOmitted" not in problem
        assert {e["field"] for e in problem["errors"]} == {"title", "colour"}

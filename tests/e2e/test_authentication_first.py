"""Every protected operation authenticates before it looks at anything else: without a valid token it is 401,
whatever its body, content type, parameters or headers (the operations are walked from the OpenAPI document)."""

import re
from typing import Any
from uuid import uuid4

from tests.e2e.helpers import Client

# The operations anyone may call; every other one declares the bearer token.
PUBLIC = {
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
}
HOSTILE_REQUESTS: dict[str, dict[str, Any]] = {
    "malformed JSON": {"content": b'{"title": ', "headers": {"Content-Type": "application/json"}},
    "unknown fields": {"content": b'{"colour": "red"}', "headers": {"Content-Type": "application/json"}},
    "not JSON": {"content": b"title=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    "over a mebibyte": {"content": b" " * (1024 * 1024 + 1), "headers": {"Content-Type": "application/json"}},
    "bad header": {"headers": {"Idempotency-Key": "", "If-Match": "nonsense"}},
}


async def operations(client: Client) -> list[tuple[str, str, dict[str, Any]]]:
    document = (await client.get("/schema/openapi.json")).json()
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def is_protected(operation: dict[str, Any]) -> bool:
    return any("BearerToken" in requirement for requirement in operation.get("security", []))


def bad_parameters(operation: dict[str, Any]) -> dict[str, str]:
    """A value of the wrong type for every query parameter the operation declares."""
    return {p["name"]: "\x01not valid" for p in operation.get("parameters", []) if p["in"] == "query"}


async def test_only_the_public_operations_are_open(client: Client) -> None:
    found = await operations(client)
    assert {(method, path) for method, path, operation in found if not is_protected(operation)} == PUBLIC


async def test_every_protected_operation_is_401_before_anything_else(client: Client) -> None:
    protected = [(m, p, o) for m, p, o in await operations(client) if is_protected(o)]
    assert len(protected) >= 20
    for method, path, operation in protected:
        url = re.sub(r"\{[^}]+\}", str(uuid4()), path)
        for credentials in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
            for name, request in HOSTILE_REQUESTS.items():
                headers = request.get("headers", {}) | credentials
                response = await client.request(
                    method, url, params=bad_parameters(operation), content=request.get("content"), headers=headers
                )
                where = f"{method} {path} with {name} and {credentials or 'no token'}"
                assert response.status_code == 401, f"{where}: {response.status_code} {response.text}"
                assert response.headers["www-authenticate"].startswith("Bearer"), where
                assert response.headers["content-type"] == "application/problem+json", where

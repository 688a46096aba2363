"""HTTP helpers for the end-to-end tests."""

import re
from typing import Any, TypeAlias

import psycopg
from litestar import Litestar
from litestar.testing import AsyncTestClient
from psycopg.types.json import Jsonb

from tests.conftest import INTERNALS

Client: TypeAlias = AsyncTestClient[Litestar]
PASSWORD = "correct horse battery"

# How a 400 names a field: as the wire does (camelCase, dotted paths, header names), never as Python does.
WIRE_NAME = re.compile(r"^(body|[a-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*|[A-Z][a-z]+(-[A-Z][a-z]+)+)$")
# What a message about a field may not show: Python's types, msgspec's wording, regular expressions.
INTERNAL_WORDING = re.compile(r"`|\bExpected\b|\bregex\b|\\x|\[\^|\bstr\b|\bint\b|\bfloat\b|\bNone|\benum\b|\$")


async def register(client: Client, email: str, name: str = "Someone") -> dict[str, Any]:
    response = await client.post("/auth/register", json={"email": email, "name": name, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['accessToken']}"}


async def create_task(client: Client, session: dict[str, Any], **fields: Any) -> dict[str, Any]:
    response = await client.post("/tasks", json={"title": "A task"} | fields, headers=bearer(session))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def hold_counters(conn: psycopg.Connection[Any], owner: str) -> None:
    """Lock every stripe of the owner's task counters in `conn`'s transaction: the owner's creates wait on it."""
    conn.execute(
        "INSERT INTO task_counters (owner_id, stripe) SELECT %s, generate_series(0, 15) ON CONFLICT DO NOTHING",
        (owner,),
    )
    conn.execute("SELECT 1 FROM task_counters WHERE owner_id = %s FOR UPDATE", (owner,))


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance", "requestId"} <= set(body)
    assert body["status"] == status
    assert body["requestId"] == response.headers["x-request-id"]
    assert not any(word in response.text.lower() for word in INTERNALS), response.text
    return body


def tamper(database_url: str, stream_id: str, version: int, data: dict[str, Any]) -> None:
    """Rewrite one event's data as someone with the database's owner role could: trigger off, edit, trigger on."""
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        conn.execute(
            "UPDATE events SET data = %s WHERE stream_id = %s AND version = %s", (Jsonb(data), stream_id, version)
        )
        conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")

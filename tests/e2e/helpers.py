"""HTTP helpers for the end-to-end tests."""

from typing import Any

from litestar.testing import AsyncTestClient


async def register(client: AsyncTestClient, email: str, name: str = "Someone") -> dict[str, Any]:  # type: ignore[type-arg]
    response = await client.post("/auth/register", json={"email": email, "name": name, "password": "correct horse"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['accessToken']}"}

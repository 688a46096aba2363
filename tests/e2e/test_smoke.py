from litestar.testing import AsyncTestClient

from tests.e2e.helpers import bearer, register


async def test_register_create_and_read(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    session = await register(client, "ada@example.com")
    created = await client.post("/tasks", json={"title": "Write", "priority": "HIGH"}, headers=bearer(session))
    assert created.status_code == 201, created.text
    task = created.json()
    got = await client.get(f"/tasks/{task['id']}", headers=bearer(session))
    assert got.json() == task
    listed = await client.get("/tasks", headers=bearer(session))
    assert listed.json() == {"data": [task], "nextCursor": None}

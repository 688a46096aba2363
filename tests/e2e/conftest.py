from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from application.seed import ADMIN, SEED_CONTEXT
from application.users import RegisterUser, register_user
from infrastructure.bootstrap import open_runtime
from infrastructure.settings import Settings
from tests.e2e.browser import chromium
from tests.e2e.helpers import PASSWORD, Client, register


@pytest.fixture
async def alice(client: Client) -> dict[str, Any]:
    return await register(client, "alice@example.com", "Alice")


@pytest.fixture
async def bob(client: Client) -> dict[str, Any]:
    return await register(client, "bob@example.com", "Bob")


@pytest.fixture
async def admin(client: Client, settings: Settings) -> dict[str, Any]:
    """An admin, registered through the application (the API never grants the role)."""
    async with open_runtime(settings) as runtime:
        command = RegisterUser(email=ADMIN.email, name="Admin", password=PASSWORD)
        await register_user(command, SEED_CONTEXT, runtime.deps.users, ADMIN.role)
    response = await client.post("/auth/login", json={"email": ADMIN.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A fresh headless Chromium (tests/e2e/browser.py): skipped where it is missing, a failure in CI."""
    with chromium() as session:
        yield session

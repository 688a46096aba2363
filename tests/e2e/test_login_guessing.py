"""Password guessing stays bounded without handing attackers a lock on someone else's account: failures are counted
per account and client address, under a per-account ceiling whose waits grow with the failures; refreshes are
limited per client address."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.types import Receive, Send

from api.app import create_app
from infrastructure.settings import Settings
from tests.e2e.helpers import PASSWORD, Client, assert_problem, register


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Client]:
    """A client of the app in which each request comes from the address its X-Test-Client header names (the test
    client's connections all come from one made-up host otherwise)."""
    app = create_app(settings)

    async def addressed(scope: Any, receive: Receive, send: Send) -> None:
        named = dict(scope.get("headers", ())).get(b"x-test-client")
        await app(scope | {"client": (named.decode(), 40_000)} if named else scope, receive, send)

    # The client is typed for a Litestar app; it only ever calls it as an ASGI app.
    async with AsyncTestClient(app=cast(Litestar, addressed)) as client:
        yield client


def at(address: str) -> dict[str, str]:
    return {"X-Test-Client": address}


async def log_in(client: Client, address: str, password: str, email: str = "alice@example.com") -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password}, headers=at(address))


ATTACKER, OWNER = "192.0.2.66", "198.51.100.7"


class TestGuessesFromOneAddress:
    async def test_they_lock_that_address_out_of_that_account_only(self, settings: Settings) -> None:
        async with serving(settings) as client:
            await register(client, "alice@example.com")
            await register(client, "bob@example.com")
            for _ in range(5):
                assert (await log_in(client, ATTACKER, "wrong password")).status_code == 401
            locked = await log_in(client, ATTACKER, PASSWORD)
            assert_problem(locked, 429)
            assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
            assert (await log_in(client, OWNER, PASSWORD)).status_code == 200
            assert (await log_in(client, ATTACKER, PASSWORD, "bob@example.com")).status_code == 200

    async def test_an_unknown_account_is_locked_the_same_way(self, settings: Settings) -> None:
        async with serving(settings) as client:
            statuses = [
                (await log_in(client, ATTACKER, "wrong password", "ghost@example.com")).status_code for _ in range(6)
            ]
        assert statuses == [401] * 5 + [429]


class TestTheAccountCeiling:
    async def owner_after_guesses(self, settings: Settings, addresses: int) -> int:
        """Five wrong passwords for alice from each of `addresses` addresses; then how long the owner must wait."""
        async with serving(settings) as client:
            await register(client, "alice@example.com")
            for n in range(addresses):
                for _ in range(5):
                    assert (await log_in(client, f"192.0.2.{n}", "wrong password")).status_code == 401
            waiting = await log_in(client, OWNER, PASSWORD)
        assert_problem(waiting, 429)
        return int(waiting.headers["retry-after"])

    async def test_guesses_from_a_few_addresses_make_everyone_wait_briefly(self, settings: Settings) -> None:
        assert 0 < await self.owner_after_guesses(settings, addresses=2) <= 60

    async def test_the_wait_grows_with_the_failures(self, settings: Settings) -> None:
        """Past the short ceiling (here lifted with TASKFLOW_LOGIN_RATE_LIMIT), the hourly one holds."""
        roomy = msgspec.structs.replace(settings, login_rate_limit="1000/minute")
        assert 60 < await self.owner_after_guesses(roomy, addresses=10) <= 3600


class TestRefreshLimit:
    async def test_refreshes_are_limited_per_address(self, settings: Settings) -> None:
        async with serving(msgspec.structs.replace(settings, refresh_rate_limit="3/minute")) as client:
            token = (await register(client, "alice@example.com"))["refreshToken"]
            for _ in range(3):
                refreshed = await client.post("/auth/refresh", json={"refreshToken": token}, headers=at(ATTACKER))
                assert refreshed.status_code == 200, refreshed.text
                token = refreshed.json()["refreshToken"]
            refused = await client.post("/auth/refresh", json={"refreshToken": token}, headers=at(ATTACKER))
            assert_problem(refused, 429)
            assert int(refused.headers["retry-after"]) > 0
            elsewhere = await client.post("/auth/refresh", json={"refreshToken": token}, headers=at(OWNER))
            assert elsewhere.status_code == 200

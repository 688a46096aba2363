"""Refresh rotation under real concurrency, on PostgreSQL: the handlers run at once on their own connections."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from application.context import RequestContext
from application.errors import Unauthenticated
from application.services import Services
from application.sessions import REUSE_GRACE, Session, refresh
from application.users import RegisterUser, register_user
from infrastructure.clock import SystemClock
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.settings import Settings
from tests.integration.wiring import services_over

NOBODY = RequestContext(actor=None, request_id="test")


class ShiftedClock:
    """The system clock, moved forward by `offset` (to step past the reuse grace)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return SystemClock().now() + self.offset


@pytest.fixture
async def services(pool: Pool, settings: Settings) -> AsyncIterator[Services]:
    async with services_over(pool, settings) as wired:
        yield dataclasses.replace(wired, clock=ShiftedClock())


async def a_session(services: Services, email: str = "ann@example.com") -> Session:
    return await register_user(RegisterUser(email, "Ann", "long enough"), NOBODY, services)


async def outcome(token: str, services: Services) -> Session | None:
    try:
        return await refresh(token, NOBODY, services)
    except Unauthenticated:
        return None


class TestConcurrentRefresh:
    async def test_exactly_one_wins_and_its_session_lives_on(self, services: Services) -> None:
        session = await a_session(services)
        results = await asyncio.gather(*(outcome(session.refresh_token, services) for _ in range(8)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert await outcome(winners[0].refresh_token, services) is not None, "the loser did not revoke the winner"

    async def test_a_small_pool_does_not_starve(self, database_url: str, settings: Settings) -> None:
        async with (
            open_pool(database_url, size=2, checkout_seconds=5.0) as small,
            services_over(small, settings) as wired,
        ):
            sessions = [await a_session(wired, f"user{i}@example.com") for i in range(10)]
            results = await asyncio.gather(*(outcome(s.refresh_token, wired) for s in sessions))
        assert all(r is not None for r in results)


class TestReuse:
    async def test_reuse_after_the_grace_revokes_the_family(self, services: Services) -> None:
        session = await a_session(services)
        renewed = await outcome(session.refresh_token, services)
        assert renewed is not None
        assert isinstance(services.clock, ShiftedClock)
        services.clock.offset = REUSE_GRACE + timedelta(seconds=1)
        assert await outcome(session.refresh_token, services) is None
        assert await outcome(renewed.refresh_token, services) is None, "the whole family is revoked"

    async def test_reuse_within_the_grace_is_refused_without_revoking(self, services: Services) -> None:
        session = await a_session(services)
        renewed = await outcome(session.refresh_token, services)
        assert renewed is not None
        assert await outcome(session.refresh_token, services) is None
        assert await outcome(renewed.refresh_token, services) is not None

"""Refresh rotation under real concurrency, on PostgreSQL: the handlers run at once on their own connections."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from application.context import RequestContext
from application.errors import Unauthenticated
from application.sessions import REUSE_GRACE, Session, refresh
from application.users import RegisterUser, register_user
from infrastructure.bootstrap import Dependencies
from infrastructure.clock import SystemClock
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.settings import Settings
from tests.integration.wiring import deps_over, replaced

NOBODY = RequestContext(actor=None, request_id="test")


class ShiftedClock:
    """The system clock, moved forward by `offset` (to step past the reuse grace)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return SystemClock().now() + self.offset


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield replaced(wired, clock=ShiftedClock())


async def a_session(deps: Dependencies, email: str = "ann@example.com") -> Session:
    return await register_user(RegisterUser(email, "Ann", "long enough"), NOBODY, deps.users)


async def outcome(token: str, deps: Dependencies) -> Session | None:
    try:
        return await refresh(token, NOBODY, deps.users)
    except Unauthenticated:
        return None


class TestConcurrentRefresh:
    async def test_exactly_one_wins_and_its_session_lives_on(self, deps: Dependencies) -> None:
        session = await a_session(deps)
        results = await asyncio.gather(*(outcome(session.refresh_token, deps) for _ in range(8)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert await outcome(winners[0].refresh_token, deps) is not None, "the loser did not revoke the winner"

    async def test_a_small_pool_does_not_starve(self, database_url: str, settings: Settings) -> None:
        async with (
            open_pool(database_url, size=2, checkout_seconds=5.0) as small,
            deps_over(small, settings) as wired,
        ):
            sessions = [await a_session(wired, f"user{i}@example.com") for i in range(10)]
            results = await asyncio.gather(*(outcome(s.refresh_token, wired) for s in sessions))
        assert all(r is not None for r in results)


class TestReuse:
    async def test_reuse_after_the_grace_revokes_the_family(self, deps: Dependencies) -> None:
        session = await a_session(deps)
        renewed = await outcome(session.refresh_token, deps)
        assert renewed is not None
        assert isinstance(deps.users.clock, ShiftedClock)
        deps.users.clock.offset = REUSE_GRACE + timedelta(seconds=1)
        assert await outcome(session.refresh_token, deps) is None
        assert await outcome(renewed.refresh_token, deps) is None, "the whole family is revoked"

    async def test_reuse_within_the_grace_is_refused_without_revoking(self, deps: Dependencies) -> None:
        session = await a_session(deps)
        renewed = await outcome(session.refresh_token, deps)
        assert renewed is not None
        assert await outcome(session.refresh_token, deps) is None
        assert await outcome(renewed.refresh_token, deps) is not None

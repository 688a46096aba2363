"""A follower runs when its own advisory lock is held in this deployment's database. pg_locks and pg_stat_activity
cover the whole server, where another deployment, in a database of its own, holds the same lock keys under the
same session names."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from application.projections.registry import FOLLOWER_NAMES as FOLLOWERS
from infrastructure.postgres.followers import lock_key, session_name
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.postgres.projection_status import projection_states


def checkpointed(database_url: str) -> None:
    """Every follower has a checkpoint, as after its first round."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in FOLLOWERS:
            conn.execute("INSERT INTO follower_checkpoints (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,))


@contextmanager
def holding(database_url: str, key: str, application_name: str) -> Iterator[None]:
    """A session of `application_name` holding the session advisory lock of `key`, until the block ends."""
    with psycopg.connect(database_url, autocommit=True, application_name=application_name) as session:
        session.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
        yield


async def statuses(pool: Pool) -> dict[str, str]:
    return {state.name: state.status for state in await projection_states(pool)}


class TestFollowerStatus:
    async def test_a_follower_active_in_another_database_is_stopped_here(
        self, pool: Pool, database_url: str, other_database_url: str
    ) -> None:
        checkpointed(database_url)
        checkpointed(other_database_url)
        with holding(other_database_url, lock_key("task_activity"), session_name("task_activity", 4242)):
            async with open_pool(other_database_url, size=1, checkout_seconds=5.0) as other:
                assert (await statuses(other))["task_activity"] == "running"
            assert (await statuses(pool))["task_activity"] == "stopped"

    async def test_the_followers_own_lock_counts_not_the_session_name(self, pool: Pool, database_url: str) -> None:
        checkpointed(database_url)
        with holding(database_url, "another lock", session_name("task_activity", 4242)):
            assert (await statuses(pool))["task_activity"] == "stopped"
        with holding(database_url, lock_key("task_activity"), "some session"):
            found = await statuses(pool)
        assert found["task_activity"] == "running"
        assert found["cache_backstop"] == "stopped"

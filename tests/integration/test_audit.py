"""Tamper evidence: `audit verify` finds an edited, a removed and a reordered event behind the trigger's back."""

from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from application.context import Actor, RequestContext
from application.tasks import CreateTask, TaskChanges, UpdateTask, create_task, update_task
from domain.values import Role
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.log_audit import verify_log
from infrastructure.postgres.pool import Pool
from infrastructure.settings import Settings
from tests.e2e.processes import base_environment, run_taskflow
from tests.integration.wiring import deps_over


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


async def a_history(deps: Dependencies) -> UUID:
    ctx = RequestContext(actor=Actor(UUID(int=7), Role.USER), request_id="test")
    task = await create_task(CreateTask("first"), ctx, deps.tasks)
    for title in ("second", "third"):
        await update_task(UpdateTask(task.id, TaskChanges(title=title)), ctx, deps.tasks)
    await create_task(CreateTask("another stream"), ctx, deps.tasks)
    return task.id


async def behind_the_trigger(pool: Pool, statement: str, *params: object) -> None:
    """What only the table's owner can do: change the log with the guard trigger off."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        await conn.execute(statement, params)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")


class TestVerify:
    async def test_an_untouched_log_is_whole(self, deps: Dependencies, pool: Pool) -> None:
        await a_history(deps)
        report = await verify_log(pool)
        assert report.whole, report.findings
        assert (report.streams, report.events) == (2, 4)

    async def test_an_edited_event_is_named(self, deps: Dependencies, pool: Pool) -> None:
        task_id = await a_history(deps)
        await behind_the_trigger(
            pool,
            "UPDATE events SET data = jsonb_set(data, '{title}', '\"forged\"') WHERE stream_id = %s AND version = 2",
            task_id,
        )
        report = await verify_log(pool)
        assert [(f.stream_id, f.version) for f in report.findings] == [(task_id, 2)]
        assert "hash" in report.findings[0].problem

    async def test_a_removed_event_is_named(self, deps: Dependencies, pool: Pool) -> None:
        task_id = await a_history(deps)
        await behind_the_trigger(pool, "DELETE FROM events WHERE stream_id = %s AND version = 2", task_id)
        report = await verify_log(pool)
        assert {(f.stream_id, f.version) for f in report.findings} == {(task_id, 3)}
        assert any("expected version 2" in f.problem for f in report.findings)

    async def test_a_changed_time_is_named(self, deps: Dependencies, pool: Pool) -> None:
        task_id = await a_history(deps)
        await behind_the_trigger(
            pool,
            "UPDATE events SET recorded_at = recorded_at - interval '1 day' WHERE stream_id = %s AND version = 1",
            task_id,
        )
        report = await verify_log(pool)
        assert (task_id, 1) in {(f.stream_id, f.version) for f in report.findings}


class TestCommand:
    async def test_exit_status_and_output(self, deps: Dependencies, pool: Pool, settings: Settings) -> None:
        assert settings.database_url
        task_id = await a_history(deps)
        env = base_environment(TASKFLOW_DATABASE_URL=settings.database_url, TASKFLOW_REDIS_URL=settings.redis_url or "")
        whole = await run_taskflow(env, "audit", "verify")
        assert whole.returncode == 0, whole.stderr
        assert "4 events in 2 streams" in whole.stdout
        await behind_the_trigger(pool, "DELETE FROM events WHERE stream_id = %s AND version = 3", task_id)
        await behind_the_trigger(
            pool, "UPDATE events SET data = '{}'::jsonb WHERE stream_id = %s AND version = 1", task_id
        )
        broken = await run_taskflow(env, "audit", "verify")
        assert broken.returncode != 0
        assert f"stream {task_id} version 1" in broken.stdout
        history = await run_taskflow(env, "events", "history", str(task_id))
        assert [line.count('"version"') for line in history.stdout.splitlines()] == [1, 1]

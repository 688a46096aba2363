"""The auditors' handlers against the in-memory adapters: the log walked both ways, one stream's states as the fold
gives them, and who may look."""

import asyncio
from uuid import uuid4

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as for_all
from hypothesis import strategies as st

from application.auditing import ListEvents, list_events
from application.context import RequestContext
from application.errors import Forbidden, InvalidInput, NotFound
from application.stream_history import StateChange, StreamQuery, stream_history, verify_stream
from application.tasks import TaskChanges, UpdateTask, update_task
from domain.values import Priority, Role
from tests.unit.test_handlers import World


async def walk(world: World, ctx: RequestContext, page: int, newest_first: bool) -> list[int]:
    """Every position, following nextBefore newest first or nextAfter oldest first."""
    seen: list[int] = []
    cursor: str | None = None
    while True:
        query = ListEvents(newest_first=True, before=cursor) if newest_first else ListEvents(after=cursor)
        found = await list_events(msgspec.structs.replace(query, limit=page), ctx, world.deps.audit)
        if not found.data:
            return seen
        seen += [event.position for event in found.data]
        cursor = found.next_before if newest_first else found.next_after


class TestTheLogBothWays:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @for_all(tasks_made=st.integers(0, 12), page=st.integers(1, 5))
    def test_newest_first_is_commit_order_reversed(self, tasks_made: int, page: int) -> None:
        async def both() -> tuple[list[int], list[int]]:
            world = World()
            admin = await world.register("admin@example.com", Role.ADMIN)
            for n in range(tasks_made):
                await world.create(admin, f"task {n}")
            return await walk(world, admin, page, False), await walk(world, admin, page, True)

        forward, backward = asyncio.run(both())
        assert backward == forward[::-1]
        assert len(set(forward)) == len(forward) == tasks_made + 1  # and the admin's registration

    async def test_a_causation_narrows_a_correlation(self) -> None:
        world = World()
        admin = await world.register("admin@example.com", Role.ADMIN)
        with pytest.raises(InvalidInput):
            await list_events(ListEvents(causation_id="req-1"), admin, world.deps.audit)
        found = await list_events(ListEvents(correlation_id="req-1", causation_id="req-1"), admin, world.deps.audit)
        assert [event.type for event in found.data] == ["UserRegistered"]

    async def test_users_may_not_read_the_log(self) -> None:
        world = World()
        alice = await world.register("alice@example.com")
        with pytest.raises(Forbidden):
            await list_events(ListEvents(newest_first=True), alice, world.deps.audit)


class TestOneStream:
    async def test_each_event_with_the_folds_states_and_the_state_as_of_a_version(self) -> None:
        world = World()
        admin = await world.register("admin@example.com", Role.ADMIN)
        task = await world.create(admin, "Draft")
        await update_task(UpdateTask(task.id, TaskChanges(priority=Priority.HIGH)), admin, world.deps.tasks)
        now = await stream_history(StreamQuery(task.id), admin, world.deps.audit)
        assert now.events[1].changes == [StateChange("priority", "MEDIUM", "HIGH")]
        assert now.state is not None
        assert (now.state["title"], now.state["priority"], now.latest_version) == ("Draft", "HIGH", 2)
        then = await stream_history(StreamQuery(task.id, version=1), admin, world.deps.audit)
        assert then.state == now.events[0].after
        assert [event.version for event in then.events] == [1]
        with pytest.raises(NotFound):
            await stream_history(StreamQuery(task.id, version=3), admin, world.deps.audit)
        verified = await verify_stream(task.id, admin, world.deps.audit)
        assert (verified.events, verified.intact, verified.first_broken_version) == (2, True, None)

    async def test_only_admins_and_only_streams_that_exist(self) -> None:
        world = World()
        admin = await world.register("admin@example.com", Role.ADMIN)
        alice = await world.register("alice@example.com")
        task = await world.create(alice)
        with pytest.raises(Forbidden):
            await stream_history(StreamQuery(task.id), alice, world.deps.audit)
        with pytest.raises(Forbidden):
            await verify_stream(task.id, alice, world.deps.audit)
        with pytest.raises(NotFound):
            await stream_history(StreamQuery(uuid4()), admin, world.deps.audit)
        with pytest.raises(NotFound):
            await verify_stream(uuid4(), admin, world.deps.audit)

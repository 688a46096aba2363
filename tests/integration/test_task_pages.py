"""Property: walking every page of GET /tasks returns exactly the tasks that matched at the first page, once each,
in order, as they were then, whatever is created, changed or deleted between pages."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import hypothesis
import msgspec
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from application.context import Actor, RequestContext
from application.errors import NotFound
from application.overdue import mark_overdue_tasks
from application.queries import ListTasks, list_tasks
from application.tasks import CreateTask, DeleteTask, TaskChanges, UpdateTask, create_task, delete_task, update_task
from application.users import RegisterUser, register_user
from application.views import TaskSort, TaskView, sort_key
from domain.values import Priority, Role, TaskStatus
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.pool import Pool
from infrastructure.settings import Settings
from tests.integration.wiring import deps_over, overdue_check

WORDS = ("alpha", "beta", "gamma", "delta")
NOBODY = RequestContext(actor=None, request_id="test")

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
due_offsets = st.one_of(st.none(), st.integers(min_value=-5, max_value=5))


@dataclass(frozen=True)
class NewTask:
    owner: int
    title: str
    description: str | None
    status: TaskStatus
    priority: Priority
    due_in_days: int | None


new_tasks = st.builds(
    NewTask,
    owner=st.integers(0, 1),
    title=texts,
    description=st.one_of(st.none(), texts),
    status=st.sampled_from(TaskStatus),
    priority=st.sampled_from(Priority),
    due_in_days=due_offsets,
)


@dataclass(frozen=True)
class Query:
    as_admin: bool
    statuses: tuple[TaskStatus, ...]
    priorities: tuple[Priority, ...]
    due_before_days: int | None
    due_after_days: int | None
    overdue: bool
    text: str | None
    sort: TaskSort
    limit: int


queries = st.builds(
    Query,
    as_admin=st.booleans(),
    statuses=st.one_of(
        st.just(()), st.lists(st.sampled_from(TaskStatus), min_size=1, max_size=2, unique=True).map(tuple)
    ),
    priorities=st.one_of(
        st.just(()), st.lists(st.sampled_from(Priority), min_size=1, max_size=2, unique=True).map(tuple)
    ),
    due_before_days=st.one_of(st.none(), st.none(), st.integers(1, 6)),
    due_after_days=st.one_of(st.none(), st.none(), st.integers(-6, 0)),
    overdue=st.sampled_from([False, False, False, True]),
    text=st.one_of(st.none(), st.none(), st.sampled_from(WORDS)),
    sort=st.sampled_from(TaskSort),
    limit=st.integers(1, 4),
)


@dataclass(frozen=True)
class Write:
    kind: str  # "create", "update" or "delete"
    target: int
    task: NewTask


writes = st.builds(
    Write, kind=st.sampled_from(["create", "update", "delete"]), target=st.integers(0, 50), task=new_tasks
)


@dataclass
class World:
    deps: Dependencies
    known: dict[UUID, TaskView] = field(default_factory=dict)

    async def users(self) -> tuple[list[RequestContext], RequestContext]:
        contexts = []
        for role in (Role.USER, Role.USER, Role.ADMIN):
            email = f"{self.deps.users.ids.new()}@example.com"
            session = await register_user(RegisterUser(email, "Someone", "long enough"), NOBODY, self.deps.users, role)
            contexts.append(RequestContext(actor=Actor(session.user.id, role), request_id="test"))
        return contexts[:2], contexts[2]

    async def create(self, spec: NewTask, owners: list[RequestContext], now: datetime) -> None:
        due = now + timedelta(days=spec.due_in_days, hours=6) if spec.due_in_days is not None else None
        command = CreateTask(spec.title, spec.description, spec.status, spec.priority, due)
        view = await create_task(command, owners[spec.owner], self.deps.tasks)
        self.known[view.id] = view

    async def mark_overdue(self, pool: Pool) -> None:
        """The scheduler's check at the current time, and the tasks as it left them."""
        await mark_overdue_tasks(overdue_check(pool, self.deps.tasks.clock))
        for task_id in self.known:
            view = await self.deps.task_reads.tasks.get(task_id)
            assert view is not None
            self.known[task_id] = view

    async def write(self, write: Write, owners: list[RequestContext], admin: RequestContext, now: datetime) -> None:
        if write.kind == "create" or not self.known:
            await self.create(write.task, owners, now)
            return
        task_id = sorted(self.known)[write.target % len(self.known)]
        try:
            if write.kind == "delete":
                await delete_task(DeleteTask(task_id), admin, self.deps.tasks)
                del self.known[task_id]
            else:
                spec = write.task
                due = now + timedelta(days=spec.due_in_days, hours=6) if spec.due_in_days is not None else None
                changes = TaskChanges(title=spec.title, status=spec.status, priority=spec.priority, due_date=due)
                self.known[task_id] = await update_task(UpdateTask(task_id, changes), admin, self.deps.tasks)
        except NotFound:
            self.known.pop(task_id, None)


def expected_walk(known: dict[UUID, TaskView], query: ListTasks, now: datetime) -> list[TaskView]:
    """What the SQL should give, computed independently: filter, then order by the sort key and id."""

    def matches(task: TaskView) -> bool:
        due = task.due_date
        words = set(f"{task.title} {task.description or ''}".split())
        return (
            (query.owner_id is None or task.owner_id == query.owner_id)
            and (not query.statuses or task.status in query.statuses)
            and (not query.priorities or task.priority in query.priorities)
            and (query.due_before is None or (due is not None and due < query.due_before))
            and (query.due_after is None or (due is not None and due > query.due_after))
            and (not query.overdue or task.overdue)
            and (query.text is None or query.text in words)
        )

    def order(task: TaskView) -> tuple[Any, UUID]:
        key = sort_key(task, query.sort)
        return (datetime.max.replace(tzinfo=now.tzinfo) if key is None else key), task.id

    return sorted(filter(matches, known.values()), key=order, reverse=query.sort.descending)


@pytest.fixture
async def world(pool: Pool, settings: Settings) -> AsyncIterator[World]:
    async with deps_over(pool, settings) as deps:
        yield World(deps)


@hypothesis.settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.lists(new_tasks, min_size=3, max_size=14),
    query=queries,
    between_pages=st.lists(st.lists(writes, min_size=1, max_size=3), min_size=1, max_size=6),
)
async def test_a_walk_returns_the_first_pages_tasks_once_each_in_order(
    pool: Pool, world: World, initial: list[NewTask], query: Query, between_pages: list[list[Write]]
) -> None:
    world.known.clear()  # each example has its own users, so only its own tasks can match
    owners, admin = await world.users()
    now = world.deps.tasks.clock.now()
    for spec in initial:
        await world.create(spec, owners, now)
    await world.mark_overdue(pool)
    caller = admin if query.as_admin else owners[0]
    request = ListTasks(
        statuses=query.statuses,
        priorities=query.priorities,
        due_before=now + timedelta(days=query.due_before_days, hours=12) if query.due_before_days is not None else None,
        due_after=now + timedelta(days=query.due_after_days, hours=12) if query.due_after_days is not None else None,
        overdue=query.overdue,
        text=query.text,
        owner_id=owners[1].actor.user_id if query.as_admin and owners[1].actor else None,
        sort=query.sort,
        limit=query.limit,
    )
    own = owners[0].actor
    assert own is not None
    scope = request if query.as_admin else msgspec.structs.replace(request, owner_id=own.user_id)
    expected = expected_walk(world.known, scope, now)

    seen: list[TaskView] = []
    cursor: str | None = None
    for page_number in range(len(expected) + 2):
        page = await list_tasks(msgspec.structs.replace(request, cursor=cursor), caller, world.deps.task_reads)
        seen += page.data
        if (cursor := page.next_cursor) is None:
            break
        for write in between_pages[page_number] if page_number < len(between_pages) else []:
            await world.write(write, owners, admin, now)
    assert [t.id for t in seen] == [t.id for t in expected]
    assert seen == expected, "every page shows the tasks as they were at the first page"

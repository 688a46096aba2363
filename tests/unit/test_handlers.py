"""The application handlers against the in-memory adapters: authorisation, paging, versions, batches, accounts."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import UUID, uuid4

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as for_all
from hypothesis import strategies as st

from application.audit_proofs import DigestDeps
from application.auditing import AuditDeps
from application.batch import BatchAction, BatchItem, BatchTasks, ItemError, batch_tasks
from application.context import AccessClaims, Actor, RateRule, RequestContext
from application.cursors import Cursor, encode_cursor
from application.errors import (
    EmailTaken,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
)
from application.queries import ListTasks, TaskReadDeps, get_task, list_tasks
from application.records import RecordedEvent
from application.refunds import RefundDeps
from application.sessions import SequentialGate, Session
from application.tasks import (
    CreateTask,
    DeleteTask,
    TaskChanges,
    TaskDeps,
    UpdateTask,
    create_task,
    delete_task,
    update_task,
)
from application.users import LogIn, RegisterUser, UserDeps, change_role, get_user, log_in, register_user
from application.views import TaskView
from domain.users import ChangeRole
from domain.values import Money, Priority, Role, TaskStatus
from infrastructure.audit_keys import Ed25519Signer
from infrastructure.bootstrap import Dependencies
from infrastructure.redis.cache import NoCache
from infrastructure.redis.rate_limits import ProcessLimits
from infrastructure.security import JwtTokens
from infrastructure.settings import Settings
from tests.fake_audit import MemoryAuditTree
from tests.fakes import (
    MemoryAccessRevocations,
    MemoryActivityReadModel,
    MemoryEventLog,
    MemoryLog,
    MemoryProjectionMonitor,
    MemoryRefundReadModel,
    MemoryTaskReadModel,
    MemoryUnitOfWork,
    MemoryUserReadModel,
)

JWT_SECRET = b"unit-test-jwt-secret-0123456789abcdefghi"
CURSOR_SECRET = b"unit-test-cursor-secret-0123456789abcdef"
AUDIT_KEY = b"unit-test-audit-signing-key-0123"
PASSWORD = "correct horse battery"
NOBODY = RequestContext(actor=None, request_id="req-1")


class SteppingClock:
    """Starts at the real time (JWT expiry is checked against it) and moves on by `step` at each reading."""

    def __init__(self, step: timedelta) -> None:
        self._now = datetime.now(UTC).replace(microsecond=0)
        self._step = step

    def now(self) -> datetime:
        now = self._now
        self._now += self._step
        return now


class RandomIds:
    def new(self) -> UUID:
        return uuid4()


class ReversingHasher:
    """Cheap and reversible: `<scheme>$<password reversed>`; an old scheme asks for a rehash on login."""

    def __init__(self) -> None:
        self.scheme = "v1"
        self.verified: list[str | None] = []

    def hash(self, password: str) -> str:
        return f"{self.scheme}${password[::-1]}"

    def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        self.verified.append(password_hash)
        if password_hash is None:
            return False, None
        scheme, _, reversed_password = password_hash.partition("$")
        if reversed_password != password[::-1]:
            return False, None
        return True, (None if scheme == self.scheme else self.hash(password))


class RecordingLog(MemoryLog):
    """Remembers how many events each committed unit of work appended."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[int] = []

    def commit(
        self,
        records: Sequence[RecordedEvent],
        credentials: dict[str, tuple[UUID, str]],
        rehashes: dict[UUID, str],
    ) -> None:
        super().commit(records, credentials, rehashes)
        self.commits.append(len(records))


class World:
    """One set of in-memory adapters behind a Dependencies, as the composition root would wire them."""

    def __init__(self, clock_step: timedelta = timedelta(milliseconds=1)) -> None:
        self.log = RecordingLog()
        self.clock = SteppingClock(clock_step)
        self.hasher = ReversingHasher()
        self.units_of_work = 0
        revoked = MemoryAccessRevocations(self.log)
        limiter = ProcessLimits(Settings(jwt_secret=JWT_SECRET, audit_signing_key=AUDIT_KEY))
        tokens = JwtTokens(JWT_SECRET, 900, self.clock)
        ids, refunds, users = RandomIds(), MemoryRefundReadModel(self.log), MemoryUserReadModel(self.log)
        uow, cache = self._unit_of_work, NoCache()
        self.deps = Dependencies(
            tasks=TaskDeps(uow, self.clock, ids, cache, users, refunds),
            task_reads=TaskReadDeps(
                MemoryTaskReadModel(self.log),
                MemoryActivityReadModel(self.log),
                refunds,
                uow,
                self.clock,
                SequentialGate(revoked, limiter),
                CURSOR_SECRET,
            ),
            refunds=RefundDeps(uow, self.clock, cache, refunds, CURSOR_SECRET),
            users=UserDeps(uow, self.clock, ids, tokens, limiter, revoked, 3600, self.hasher, users, CURSOR_SECRET),
            audit=AuditDeps(uow, MemoryEventLog(self.log), MemoryProjectionMonitor(self.log), CURSOR_SECRET),
            digests=DigestDeps(MemoryAuditTree(self.log), Ed25519Signer(AUDIT_KEY), self.clock),
        )

    def _unit_of_work(self) -> MemoryUnitOfWork:
        self.units_of_work += 1
        return MemoryUnitOfWork(self.log)

    async def register(self, email: str, role: Role = Role.USER) -> RequestContext:
        command = RegisterUser(email=email, name=email.split("@")[0], password=PASSWORD)
        session = await register_user(command, NOBODY, self.deps.users, role)
        return RequestContext(actor=Actor(session.user.id, session.user.role), request_id="req-1")

    async def create(self, ctx: RequestContext, title: str = "A task", **fields: object) -> TaskView:
        body = {"title": title} | {camel(name): value for name, value in fields.items()}  # as the wire names them
        return await create_task(msgspec.convert(body, CreateTask), ctx, self.deps.tasks)

    def version(self, task_id: UUID) -> int:
        return len(self.log.streams[task_id])

    def event_types(self, task_id: UUID) -> list[str]:
        return [record.type for record in self.log.streams[task_id]]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def user_id(ctx: RequestContext) -> UUID:
    assert ctx.actor is not None
    return ctx.actor.user_id


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def alice(world: World) -> RequestContext:
    return await world.register("alice@example.com")


@pytest.fixture
async def bob(world: World) -> RequestContext:
    return await world.register("bob@example.com")


@pytest.fixture
async def admin(world: World) -> RequestContext:
    return await world.register("admin@example.com", Role.ADMIN)


class TestAuthentication:
    async def test_every_task_handler_needs_an_actor(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice)
        with pytest.raises(Unauthenticated):
            await create_task(CreateTask(title="t"), NOBODY, world.deps.tasks)
        with pytest.raises(Unauthenticated):
            await get_task(task.id, NOBODY, world.deps.task_reads)
        with pytest.raises(Unauthenticated):
            await list_tasks(ListTasks(), NOBODY, world.deps.task_reads)
        with pytest.raises(Unauthenticated):
            await update_task(UpdateTask(task.id, TaskChanges(title="x")), NOBODY, world.deps.tasks)
        with pytest.raises(Unauthenticated):
            await delete_task(DeleteTask(task.id), NOBODY, world.deps.tasks)
        with pytest.raises(Unauthenticated):
            await batch_tasks(BatchTasks(BatchAction.DELETE, [task.id]), NOBODY, world.deps.tasks)
        assert world.version(task.id) == 1


class TestAdmission:
    @staticmethod
    def claims(ctx: RequestContext, jti: str, world: World, role: Role | None = None) -> AccessClaims:
        assert ctx.actor is not None
        now = world.clock.now()
        actor = Actor(ctx.actor.user_id, role or ctx.actor.role)
        return AccessClaims(actor=actor, jti=jti, expires_at=now + timedelta(minutes=5), issued_at=now)

    async def test_a_revoked_token_is_refused_and_not_counted_against_the_limit(self, world: World) -> None:
        limited = msgspec.structs.replace(
            Settings(jwt_secret=JWT_SECRET, audit_signing_key=AUDIT_KEY), api_rate_limit="1/minute"
        )
        alice = await world.register("alice@example.com")
        revoked = MemoryAccessRevocations(world.log)
        gate = SequentialGate(revoked, ProcessLimits(limited))
        await revoked.token_revoked(user_id(alice), "stolen", world.clock.now() + timedelta(minutes=5))
        assert await gate.admit(self.claims(alice, "stolen", world), RateRule.API_BY_USER) is None
        first = await gate.admit(self.claims(alice, "fine", world), RateRule.API_BY_USER)
        second = await gate.admit(self.claims(alice, "fine", world), RateRule.API_BY_USER)
        assert first is not None
        assert second is not None
        assert (first.allowed, second.allowed) == (True, False)

    async def test_a_token_for_a_role_its_user_no_longer_has_or_for_no_user_is_refused(self, world: World) -> None:
        admin = await world.register("root@example.com", Role.ADMIN)
        bob = await world.register("bob@example.com", Role.ADMIN)
        before = self.claims(bob, "before", world)
        await change_role(user_id(bob), ChangeRole(Role.USER), admin, world.deps.users)
        gate = world.deps.task_reads.access_gate
        assert await gate.admit(before, RateRule.API_BY_USER) is None, "an admin's token outlived the demotion"
        after = self.claims(bob, "after", world, Role.USER)
        assert await gate.admit(after, RateRule.API_BY_USER) is not None
        nobody = AccessClaims(Actor(uuid4(), Role.ADMIN), "forged", before.expires_at, before.issued_at)
        assert await gate.admit(nobody, RateRule.API_BY_USER) is None

    async def test_an_admin_may_not_change_their_own_role(self, world: World) -> None:
        admin = await world.register("root@example.com", Role.ADMIN)
        with pytest.raises(Forbidden):
            await change_role(user_id(admin), ChangeRole(Role.USER), admin, world.deps.users)


class TestCreate:
    async def test_the_caller_owns_a_new_task_at_version_one(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice, "Write tests", fee={"amount": 250, "currency": "EUR"})
        assert (task.owner_id, task.title, task.version) == (user_id(alice), "Write tests", 1)
        assert (task.status, task.priority, task.fee) == (TaskStatus.PENDING, Priority.MEDIUM, Money(250, "EUR"))
        assert await get_task(task.id, alice, world.deps.task_reads) == task

    async def test_the_event_carries_the_request_metadata(self, world: World, alice: RequestContext) -> None:
        ctx = RequestContext(actor=alice.actor, request_id="req-9", correlation_id="corr-3")
        task = await world.create(ctx)
        metadata = world.log.streams[task.id][0].metadata
        assert (metadata.actor_id, metadata.request_id, metadata.correlation_id) == (
            str(user_id(alice)),
            "req-9",
            "corr-3",
        )


class TestCreateForAnotherOwner:
    async def test_a_user_may_not_create_for_another_user(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        # api.md: "only an admin may pass ownerId"; 403 is "authenticated but the role may not do this".
        with pytest.raises(Forbidden):
            await world.create(alice, owner_id=str(user_id(bob)))
        assert world.log.tasks == {}

    async def test_an_admin_may_create_for_another_user(
        self, world: World, admin: RequestContext, bob: RequestContext
    ) -> None:
        task = await world.create(admin, owner_id=str(user_id(bob)))
        assert task.owner_id == user_id(bob)
        assert await get_task(task.id, bob, world.deps.task_reads) == task

    async def test_an_admin_may_not_create_for_an_unknown_user(self, world: World, admin: RequestContext) -> None:
        with pytest.raises(NotFound):
            await world.create(admin, owner_id=str(uuid4()))
        assert world.log.tasks == {}


class TestOwnership:
    async def test_a_user_cannot_see_another_users_task(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        task = await world.create(alice)
        with pytest.raises(NotFound):
            await get_task(task.id, bob, world.deps.task_reads)

    async def test_a_user_cannot_update_another_users_task(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        task = await world.create(alice)
        with pytest.raises(NotFound):
            await update_task(UpdateTask(task.id, TaskChanges(title="mine now")), bob, world.deps.tasks)
        assert world.version(task.id) == 1

    async def test_a_user_cannot_delete_another_users_task(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        task = await world.create(alice)
        with pytest.raises(NotFound):
            await delete_task(DeleteTask(task.id), bob, world.deps.tasks)
        assert world.version(task.id) == 1

    async def test_a_missing_task_is_not_found_like_a_foreign_one(self, world: World, bob: RequestContext) -> None:
        missing = uuid4()
        with pytest.raises(NotFound):
            await get_task(missing, bob, world.deps.task_reads)
        with pytest.raises(NotFound):
            await update_task(UpdateTask(missing, TaskChanges(title="x")), bob, world.deps.tasks)
        with pytest.raises(NotFound):
            await delete_task(DeleteTask(missing), bob, world.deps.tasks)

    async def test_an_admin_may_act_on_any_task(
        self, world: World, alice: RequestContext, admin: RequestContext
    ) -> None:
        task = await world.create(alice)
        assert await get_task(task.id, admin, world.deps.task_reads) == task
        updated = await update_task(UpdateTask(task.id, TaskChanges(title="By admin")), admin, world.deps.tasks)
        assert (updated.title, updated.owner_id, updated.version) == ("By admin", user_id(alice), 2)
        await delete_task(DeleteTask(task.id), admin, world.deps.tasks)
        assert world.event_types(task.id) == ["TaskCreated", "TaskUpdated", "TaskDeleted"]


class TestUpdate:
    async def test_a_change_appends_one_event_and_keeps_the_rest(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice, "Old", description="kept", priority="LOW")
        updated = await update_task(UpdateTask(task.id, TaskChanges(title="New")), alice, world.deps.tasks)
        assert (updated.title, updated.description, updated.priority, updated.version) == (
            "New",
            "kept",
            Priority.LOW,
            2,
        )
        assert updated.created_at == task.created_at
        assert updated.updated_at > task.updated_at
        assert await get_task(task.id, alice, world.deps.task_reads) == updated

    async def test_a_change_that_changes_nothing_appends_nothing(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice, "Same", priority="HIGH")
        events_before = len(world.log.events)
        same = TaskChanges(title="Same", priority=Priority.HIGH, description=None)
        unchanged = await update_task(UpdateTask(task.id, same), alice, world.deps.tasks)
        assert unchanged == task
        assert unchanged.version == 1
        assert len(world.log.events) == events_before

    async def test_an_empty_change_appends_nothing(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice)
        assert await update_task(UpdateTask(task.id, TaskChanges()), alice, world.deps.tasks) == task
        assert world.version(task.id) == 1

    async def test_completing_with_other_changes_appends_an_update_then_the_completion(
        self, world: World, alice: RequestContext
    ) -> None:
        task = await world.create(alice, "Almost")
        change = TaskChanges(title="Done", status=TaskStatus.COMPLETED)
        updated = await update_task(UpdateTask(task.id, change), alice, world.deps.tasks)
        assert (updated.title, updated.status, updated.version) == ("Done", TaskStatus.COMPLETED, 3)
        assert world.event_types(task.id) == ["TaskCreated", "TaskUpdated", "TaskCompleted"]

    async def test_the_current_expected_version_is_accepted(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice)
        command = UpdateTask(task.id, TaskChanges(title="Pinned"), expected_version=1)
        assert (await update_task(command, alice, world.deps.tasks)).version == 2

    async def test_a_stale_expected_version_fails_the_precondition(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice)
        await update_task(UpdateTask(task.id, TaskChanges(title="Second")), alice, world.deps.tasks)
        stale = UpdateTask(task.id, TaskChanges(title="Third"), expected_version=1)
        with pytest.raises(PreconditionFailed):
            await update_task(stale, alice, world.deps.tasks)
        assert world.version(task.id) == 2
        assert (await get_task(task.id, alice, world.deps.task_reads)).title == "Second"

    async def test_a_stale_expected_version_fails_even_a_change_that_changes_nothing(
        self, world: World, alice: RequestContext
    ) -> None:
        task = await world.create(alice, "Same")
        await update_task(UpdateTask(task.id, TaskChanges(title="Other")), alice, world.deps.tasks)
        with pytest.raises(PreconditionFailed):
            await update_task(
                UpdateTask(task.id, TaskChanges(title="Other"), expected_version=1), alice, world.deps.tasks
            )


class TestDelete:
    async def test_a_deleted_task_is_gone_but_its_history_stays(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice)
        await delete_task(DeleteTask(task.id, expected_version=1), alice, world.deps.tasks)
        with pytest.raises(NotFound):
            await get_task(task.id, alice, world.deps.task_reads)
        assert world.event_types(task.id) == ["TaskCreated", "TaskDeleted"]

    async def test_a_deleted_task_accepts_nothing_more(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice)
        await delete_task(DeleteTask(task.id), alice, world.deps.tasks)
        with pytest.raises(NotFound):
            await delete_task(DeleteTask(task.id), alice, world.deps.tasks)
        with pytest.raises(NotFound):
            await update_task(UpdateTask(task.id, TaskChanges(title="x")), alice, world.deps.tasks)
        assert world.version(task.id) == 2

    async def test_a_stale_expected_version_fails_the_precondition(self, world: World, alice: RequestContext) -> None:
        task = await world.create(alice)
        await update_task(UpdateTask(task.id, TaskChanges(title="Second")), alice, world.deps.tasks)
        with pytest.raises(PreconditionFailed):
            await delete_task(DeleteTask(task.id, expected_version=1), alice, world.deps.tasks)
        assert (await get_task(task.id, alice, world.deps.task_reads)).version == 2


def outcomes(items: list[BatchItem]) -> list[tuple[UUID, ItemError | None]]:
    return [(item.task_id, item.error) for item in items]


class TestBatch:
    async def _mixed(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> tuple[TaskView, TaskView, TaskView, TaskView, TaskView, UUID]:
        """Alice's two open tasks, her completed one and her deleted one; Bob's task; an id nobody has."""
        open_1, open_2, done, gone = [await world.create(alice, f"Alice {n}") for n in range(4)]
        await update_task(UpdateTask(done.id, TaskChanges(status=TaskStatus.COMPLETED)), alice, world.deps.tasks)
        await delete_task(DeleteTask(gone.id), alice, world.deps.tasks)
        foreign = await world.create(bob, "Bob's")
        return open_1, open_2, done, gone, foreign, uuid4()

    async def test_complete_acts_on_own_tasks_and_fails_the_others_per_item(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        open_1, open_2, done, gone, foreign, missing = await self._mixed(world, alice, bob)
        ids = [open_1.id, foreign.id, done.id, missing, open_2.id, gone.id]
        units, commits = world.units_of_work, len(world.log.commits)

        results = await batch_tasks(BatchTasks(BatchAction.COMPLETE, ids), alice, world.deps.tasks)

        assert outcomes(results) == [
            (open_1.id, None),
            (foreign.id, ItemError.NOT_FOUND),
            (done.id, None),
            (missing, ItemError.NOT_FOUND),
            (open_2.id, None),
            (gone.id, ItemError.NOT_FOUND),
        ]
        assert world.units_of_work == units + 1
        assert world.log.commits[commits:] == [2], "both completions in one unit of work"
        assert world.event_types(open_1.id)[-1] == world.event_types(open_2.id)[-1] == "TaskCompleted"
        assert world.version(done.id) == 2, "completing a completed task appends nothing"
        assert world.version(foreign.id) == 1
        assert (await get_task(foreign.id, bob, world.deps.task_reads)).status is TaskStatus.PENDING

    async def test_delete_acts_on_own_tasks_and_fails_the_others_per_item(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        open_1, open_2, done, gone, foreign, missing = await self._mixed(world, alice, bob)
        ids = [done.id, gone.id, open_1.id, missing, foreign.id]
        units, commits = world.units_of_work, len(world.log.commits)

        results = await batch_tasks(BatchTasks(BatchAction.DELETE, ids), alice, world.deps.tasks)

        assert outcomes(results) == [
            (done.id, None),
            (gone.id, ItemError.NOT_FOUND),
            (open_1.id, None),
            (missing, ItemError.NOT_FOUND),
            (foreign.id, ItemError.NOT_FOUND),
        ]
        assert world.units_of_work == units + 1
        assert world.log.commits[commits:] == [2]
        assert set(world.log.tasks) == {open_2.id, foreign.id}
        assert world.version(gone.id) == 2

    async def test_an_admin_may_act_on_every_owners_tasks(
        self, world: World, alice: RequestContext, bob: RequestContext, admin: RequestContext
    ) -> None:
        mine, theirs = await world.create(alice), await world.create(bob)
        results = await batch_tasks(BatchTasks(BatchAction.COMPLETE, [mine.id, theirs.id]), admin, world.deps.tasks)
        assert outcomes(results) == [(mine.id, None), (theirs.id, None)]
        assert world.log.commits[-1] == 2
        assert {t.status for t in world.log.tasks.values()} == {TaskStatus.COMPLETED}

    async def test_a_batch_that_changes_nothing_appends_nothing(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        foreign = await world.create(bob)
        events_before = len(world.log.events)
        results = await batch_tasks(BatchTasks(BatchAction.DELETE, [foreign.id, uuid4()]), alice, world.deps.tasks)
        assert [item.error is not None for item in results] == [True, True]
        assert len(world.log.events) == events_before


async def walk_pages(
    ctx: RequestContext, deps: Dependencies, limit: int, owner_id: UUID | None = None
) -> list[TaskView]:
    """Every task `list_tasks` yields, following `nextCursor` until it is None."""
    seen: list[TaskView] = []
    cursor: str | None = None
    while True:
        page = await list_tasks(ListTasks(owner_id=owner_id, limit=limit, cursor=cursor), ctx, deps.task_reads)
        assert len(page.data) <= limit
        assert page.data or cursor is None, "a cursor led to an empty page"
        seen += page.data
        if page.next_cursor is None:
            return seen
        assert len(page.data) == limit
        assert len(seen) <= len(page.data) * 1000, "the pages never end"
        cursor = page.next_cursor


def newest_first(views: list[TaskView]) -> bool:
    keys = [(view.created_at, view.id) for view in views]
    return all(a > b for a, b in pairwise(keys))


class TestListTasks:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @for_all(
        owners=st.lists(st.integers(0, 2), max_size=24),
        limit=st.integers(1, 8),
        clock_step=st.sampled_from([timedelta(0), timedelta(milliseconds=1)]),
    )
    async def test_following_the_cursor_yields_every_task_exactly_once(
        self, owners: list[int], limit: int, clock_step: timedelta
    ) -> None:
        world = World(clock_step)
        users = [await world.register(f"user{n}@example.com") for n in range(2)]
        admin = await world.register("admin@example.com", Role.ADMIN)
        everyone = [*users, admin]
        created = [await world.create(everyone[owner], f"Task {n}") for n, owner in enumerate(owners)]

        everything = await walk_pages(admin, world.deps, limit)
        assert sorted(t.id for t in everything) == sorted(t.id for t in created)
        assert newest_first(everything)
        for ctx in users:
            own = await walk_pages(ctx, world.deps, limit)
            assert sorted(t.id for t in own) == sorted(t.id for t in created if t.owner_id == user_id(ctx))
            assert newest_first(own)
        one_owner = await walk_pages(admin, world.deps, limit, owner_id=user_id(users[0]))
        assert sorted(t.id for t in one_owner) == sorted(t.id for t in created if t.owner_id == user_id(users[0]))

    async def test_tasks_added_between_pages_do_not_repeat_or_hide_others(
        self, world: World, alice: RequestContext
    ) -> None:
        before = {(await world.create(alice, f"Before {n}")).id for n in range(5)}
        first = await list_tasks(ListTasks(limit=2), alice, world.deps.task_reads)
        for n in range(3):
            await world.create(alice, f"Between {n}")
        seen = [t.id for t in first.data]
        cursor = first.next_cursor
        while cursor is not None:
            page = await list_tasks(ListTasks(limit=2, cursor=cursor), alice, world.deps.task_reads)
            seen += [t.id for t in page.data]
            cursor = page.next_cursor
        assert len(seen) == len(set(seen))
        assert before <= set(seen)

    async def test_a_user_sees_only_their_own_tasks(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        own = await world.create(alice)
        await world.create(bob)
        page = await list_tasks(ListTasks(), alice, world.deps.task_reads)
        assert [t.id for t in page.data] == [own.id]
        assert page.next_cursor is None

    async def test_a_user_may_name_themself_as_owner(self, world: World, alice: RequestContext) -> None:
        own = await world.create(alice)
        page = await list_tasks(ListTasks(owner_id=user_id(alice)), alice, world.deps.task_reads)
        assert [t.id for t in page.data] == [own.id]

    async def test_a_user_naming_another_owner_is_forbidden(
        self, world: World, alice: RequestContext, bob: RequestContext
    ) -> None:
        await world.create(bob)
        with pytest.raises(Forbidden):
            await list_tasks(ListTasks(owner_id=user_id(bob)), alice, world.deps.task_reads)

    async def test_filters_apply_across_pages(self, world: World, alice: RequestContext) -> None:
        high = {(await world.create(alice, f"High {n}", priority="HIGH")).id for n in range(3)}
        for n in range(3):
            await world.create(alice, f"Low {n}", priority="LOW")
        seen: list[UUID] = []
        cursor: str | None = None
        while True:
            query = ListTasks(priorities=(Priority.HIGH,), limit=1, cursor=cursor)
            page = await list_tasks(query, alice, world.deps.task_reads)
            seen += [t.id for t in page.data]
            if (cursor := page.next_cursor) is None:
                break
        assert sorted(seen) == sorted(high)


def a_cursor(key: datetime) -> Cursor:
    return Cursor(query="q", key=key, id=uuid4(), began_at=key)


def tampered_cursors() -> list[tuple[str, str]]:
    genuine = encode_cursor(CURSOR_SECRET, a_cursor(datetime(2026, 11, 26, tzinfo=UTC)))
    payload, signature = genuine.split(".")
    forged_payload = encode_cursor(CURSOR_SECRET, a_cursor(datetime(2030, 1, 1, tzinfo=UTC))).split(".")[0]
    flipped = payload[:5] + ("A" if payload[5] != "A" else "B") + payload[6:]
    return [
        ("another payload, the old signature", f"{forged_payload}.{signature}"),
        ("one payload character changed", f"{flipped}.{signature}"),
        ("signature dropped", payload),
        ("empty signature", f"{payload}."),
        ("signed with another secret", encode_cursor(b"x" * 40, a_cursor(datetime(2026, 11, 26, tzinfo=UTC)))),
        ("three parts", f"{payload}.{signature}.{signature}"),
        ("not base64", "%%%.%%%"),
        ("garbage", "not-a-cursor"),
    ]


class TestTamperedCursor:
    @pytest.mark.parametrize(("case", "cursor"), tampered_cursors(), ids=[case for case, _ in tampered_cursors()])
    async def test_is_invalid_input(self, world: World, alice: RequestContext, case: str, cursor: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            await list_tasks(ListTasks(cursor=cursor), alice, world.deps.task_reads)
        assert raised.value.field == "cursor"

    async def test_a_genuine_cursor_is_accepted(self, world: World, alice: RequestContext) -> None:
        for n in range(3):
            await world.create(alice, f"Task {n}")
        first = await list_tasks(ListTasks(limit=2), alice, world.deps.task_reads)
        assert first.next_cursor is not None
        second = await list_tasks(ListTasks(limit=2, cursor=first.next_cursor), alice, world.deps.task_reads)
        assert len(second.data) == 1


async def log_in_as(world: World, email: str, password: str = PASSWORD) -> Session:
    return await log_in(LogIn(email=email, password=password), NOBODY, world.deps.users)


class TestRegisterAndLogIn:
    async def test_register_then_log_in(self, world: World) -> None:
        command = RegisterUser(email="  Ann@Example.COM ", name=" Ann ", password=PASSWORD)
        registered = await register_user(command, NOBODY, world.deps.users)
        assert (registered.user.email, registered.user.name, registered.user.role) == (
            "ann@example.com",
            "Ann",
            Role.USER,
        )
        assert world.deps.users.tokens.verify(registered.access.token).actor == Actor(registered.user.id, Role.USER)

        session = await log_in_as(world, "ANN@example.com\t")
        assert session.user == registered.user
        assert world.deps.users.tokens.verify(session.access.token).actor == Actor(registered.user.id, Role.USER)
        assert session.access.expires_in == 900

    async def test_the_password_is_stored_hashed_only(self, world: World) -> None:
        await world.register("ann@example.com")
        stored = world.log.credentials["ann@example.com"][1]
        assert stored != PASSWORD
        assert all(PASSWORD not in str(record.data) for record in world.log.events)

    async def test_the_registered_user_is_in_the_log(self, world: World) -> None:
        ctx = await world.register("ann@example.com", Role.ADMIN)
        assert [record.type for record in world.log.streams[user_id(ctx)]] == ["UserRegistered"]
        assert await get_user(user_id(ctx), ctx, world.deps.users) == (await log_in_as(world, "ann@example.com")).user

    async def test_a_wrong_password_is_invalid_credentials(self, world: World) -> None:
        await world.register("ann@example.com")
        with pytest.raises(InvalidCredentials):
            await log_in_as(world, "ann@example.com", "wrong password")

    async def test_an_unknown_email_is_invalid_credentials_after_the_same_work(self, world: World) -> None:
        await world.register("ann@example.com")
        with pytest.raises(InvalidCredentials) as wrong_password:
            await log_in_as(world, "ann@example.com", "wrong password")
        with pytest.raises(InvalidCredentials) as unknown_email:
            await log_in_as(world, "nobody@example.com")
        assert str(wrong_password.value) == str(unknown_email.value)
        assert len(world.hasher.verified) == 2, "an unknown email is verified too (against no hash)"
        assert world.hasher.verified[1] is None

    async def test_a_duplicate_email_is_taken(self, world: World) -> None:
        await world.register("ann@example.com")
        events_before = len(world.log.events)
        duplicate = RegisterUser(email="  ANN@example.com ", name="Other Ann", password="another password")
        with pytest.raises(EmailTaken):
            await register_user(duplicate, NOBODY, world.deps.users)
        assert len(world.log.events) == events_before
        assert len(world.log.users) == 1
        assert (await log_in_as(world, "ann@example.com")).user.name == "ann"

    async def test_an_outdated_hash_is_replaced_at_log_in(self, world: World) -> None:
        await world.register("ann@example.com")
        world.hasher.scheme = "v2"
        await log_in_as(world, "ann@example.com")
        assert world.log.credentials["ann@example.com"][1].startswith("v2$")
        await log_in_as(world, "ann@example.com")


class TestGetUser:
    async def test_a_user_may_read_itself(self, world: World, alice: RequestContext) -> None:
        assert (await get_user(user_id(alice), alice, world.deps.users)).email == "alice@example.com"

    async def test_a_user_may_not_read_another(self, world: World, alice: RequestContext, bob: RequestContext) -> None:
        with pytest.raises(Forbidden):
            await get_user(user_id(bob), alice, world.deps.users)

    async def test_an_admin_may_read_anyone(self, world: World, alice: RequestContext, admin: RequestContext) -> None:
        assert (await get_user(user_id(alice), admin, world.deps.users)).email == "alice@example.com"

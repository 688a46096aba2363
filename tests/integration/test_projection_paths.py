"""Property: every path that keeps a read model gives the same rows, because each runs the registry's one definition.

One script of commands over several users (tasks created, changed, completed in batches, deleted, refunded and
their refunds attempted, marked overdue by the scheduler's check at moments across their due dates; users
registered and their roles changed), with some tasks' creations stored as an older release wrote them
(TaskCreated v1), runs twice: through the handlers on PostgreSQL, and through the same handlers
on the in-memory fakes, with the same ids and times. Then these all hold the same rows, table by table:
- the fakes' tables;
- the inline tables, kept by each command's own statement;
- every table projection applied by a log follower from the start of the log, into tables of its own;
- the tables rebuilt from the log (bulk load, then catch-up) while the second half of the script appends.
"""

import asyncio
import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import hypothesis
import msgspec
import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from psycopg import sql

from application.batch import BatchTasks, batch_tasks
from application.context import Actor, RequestContext
from application.errors import ApplicationError
from application.overdue import OverdueCheck, mark_overdue_tasks
from application.payments import AttemptRefund, attempt_refund
from application.ports import PaymentOutcome, RefundOrder
from application.projections.kinds import Mode, Rows, Table
from application.projections.registry import PROJECTIONS, TASK_ACTIVITY
from application.records import EventMetadata, RecordedEvent
from application.refunds import request_refund
from application.tasks import DeleteTask, UpdateTask, create_task, delete_task, update_task
from application.users import RegisterUser, change_role, register_user
from domain.errors import DomainError
from domain.refunds import RetryPolicy
from domain.users import ChangeRole
from domain.values import Role
from infrastructure.bootstrap import Dependencies, payments
from infrastructure.clock import RandomIds
from infrastructure.postgres import event_store
from infrastructure.postgres.event_hash import event_hash, new_records
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.postgres.projections.followed import ProjectionFollower
from infrastructure.postgres.rebuild import rebuild
from infrastructure.redis.cache import NoCache
from infrastructure.settings import Settings
from tests import fakes
from tests.clock import ManualClock
from tests.conftest import fresh_database
from tests.integration.test_projection_matches_log import (
    Batch,
    Create,
    Delete,
    Refund,
    Tick,
    Update,
    creates,
    scripts,
)
from tests.integration.wiring import deps_over, overdue_check, replaced
from tests.unit.test_handlers import World

Connection = psycopg.AsyncConnection[Any]
TABLES: list[Table[Any]] = [p for p in PROJECTIONS if isinstance(p, Table)]
START = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
NOBODY = RequestContext(actor=None, request_id="test")

# While set, the creations of tasks without a fee are stored as TaskCreated v1 (the shape before fees).
_as_v1: ContextVar[bool] = ContextVar("as_v1", default=False)


@dataclasses.dataclass(frozen=True)
class Register:
    name: str
    admin: bool


@dataclasses.dataclass(frozen=True)
class Promote:
    user: int
    role: Role


@dataclasses.dataclass(frozen=True)
class Attempt:
    refund: int
    paid: bool


@dataclasses.dataclass(frozen=True)
class Old:
    """A creation as an older release stored it (v1: no fee, none stated)."""

    create: Create


Step = Create | Update | Delete | Batch | Refund | Tick | Register | Promote | Attempt | Old
Who = Literal["owner", "stranger", "admin"]

users = st.builds(Register, name=st.sampled_from(["ann", "bob", "cy"]), admin=st.booleans())
promotions = st.builds(Promote, user=st.integers(0, 5), role=st.sampled_from(Role))
attempts = st.builds(Attempt, refund=st.integers(0, 5), paid=st.booleans())
olds = st.builds(Old, create=creates)
steps = st.lists(st.one_of(users, promotions, attempts, olds, olds), max_size=8)
mixed = st.tuples(scripts, steps, st.randoms(use_true_random=False)).map(
    lambda parts: _shuffled(parts[0] + parts[1], parts[2])
)


def _shuffled(items: list[Any], random: Any) -> list[Step]:
    head, tail = items[:2], items[2:]  # the script's first creations stay first
    random.shuffle(tail)
    return head + tail


class CountingIds:
    """Ids in the order asked: both runs of a script get the same ones."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def new(self) -> UUID:
        return UUID(int=(0xA5 << 120) + next(self._next))


class SteppingClock:
    def __init__(self) -> None:
        self._ticks = itertools.count()

    def now(self) -> datetime:
        return START + timedelta(seconds=next(self._ticks))


class Gateway:
    """Pays or refuses as the script says, permanently (one attempt each)."""

    def __init__(self) -> None:
        self.paid = True

    async def pay(self, order: RefundOrder) -> PaymentOutcome:
        return PaymentOutcome(paid=True) if self.paid else PaymentOutcome(paid=False, error="refused", transient=False)


@contextlib.contextmanager
def stored_as_v1() -> Iterator[None]:
    """Make both event stores store fee-less creations as TaskCreated v1, while the context variable says so."""

    def older(appends: Any, heads: Any, metadata: EventMetadata, recorded_at: datetime) -> list[RecordedEvent]:
        records = new_records(appends, heads, metadata, recorded_at)
        if not _as_v1.get():
            return records
        found: list[RecordedEvent] = []
        previous: dict[UUID, bytes] = dict(heads)
        for record in records:
            if record.type == "TaskCreated" and record.data.get("fee", 0) is None:
                data = {key: value for key, value in record.data.items() if key != "fee"}
                record = msgspec.structs.replace(record, schema_version=1, data=data)
            hashed = msgspec.structs.replace(record, hash=event_hash(previous.get(record.stream_id, b""), record))
            previous[record.stream_id] = hashed.hash
            found.append(hashed)
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(event_store, "new_records", older)
        patch.setattr(fakes, "new_records", older)
        yield


class Run:
    """One script's run through one set of deps (the actors and ids are the same in every run), and its overdue
    check with the clock at a given moment."""

    def __init__(self, deps: Dependencies, gateway: Gateway, check: Callable[[datetime], OverdueCheck]) -> None:
        self.deps = replaced(deps, ids=CountingIds(), clock=SteppingClock())
        self.gateway = gateway
        self.check = check
        self.payments = payments(
            self.deps, gateway, RetryPolicy(max_attempts=1, base_seconds=1, max_seconds=1), lambda: 1.0
        )
        self.actors: dict[Who, Actor] = {
            "owner": Actor(UUID(int=1), Role.USER),
            "stranger": Actor(UUID(int=2), Role.USER),
            "admin": Actor(UUID(int=3), Role.ADMIN),
        }
        self.tasks: list[UUID] = []
        self.users: list[UUID] = []
        self.refunds: list[UUID] = []

    def context(self, who: Who) -> RequestContext:
        return RequestContext(actor=self.actors[who], request_id=f"{who}-request")

    def target(self, index: int | None) -> UUID:
        return self.tasks[index % len(self.tasks)] if index is not None and self.tasks else UUID(int=99)

    async def step(self, step: Step) -> None:
        with contextlib.suppress(ApplicationError, DomainError):
            await self._step(step)

    async def _step(self, step: Step) -> None:
        deps = self.deps
        if isinstance(step, Old):
            token = _as_v1.set(True)
            try:
                await self._step(step.create)
            finally:
                _as_v1.reset(token)
        elif isinstance(step, Tick):
            await mark_overdue_tasks(self.check(step.at))
        elif isinstance(step, Create):
            self.tasks.append((await create_task(step.command, self.context(step.who), deps.tasks)).id)
        elif isinstance(step, Update):
            command = UpdateTask(task_id=self.target(step.target), changes=step.changes)
            await update_task(command, self.context(step.who), deps.tasks)
        elif isinstance(step, Delete):
            await delete_task(DeleteTask(task_id=self.target(step.target)), self.context(step.who), deps.tasks)
        elif isinstance(step, Refund):
            refund = await request_refund(self.target(step.target), self.context(step.who), deps.tasks)
            self.refunds.append(refund.id)
        elif isinstance(step, Batch):
            task_ids = list(dict.fromkeys(self.target(t) for t in step.targets))
            await batch_tasks(BatchTasks(action=step.action, task_ids=task_ids), self.context(step.who), deps.tasks)
        elif isinstance(step, Register):
            role = Role.ADMIN if step.admin else Role.USER
            email = f"{step.name}{len(self.users)}@example.com"
            session = await register_user(RegisterUser(email, step.name, "long enough"), NOBODY, deps.users, role)
            self.users.append(session.user.id)
        elif isinstance(step, Promote) and self.users:
            user = self.users[step.user % len(self.users)]
            await change_role(user, ChangeRole(step.role), self.context("admin"), deps.users)
        elif isinstance(step, Attempt) and self.refunds:
            self.gateway.paid = step.paid
            await attempt_refund(AttemptRefund(self.refunds[step.refund % len(self.refunds)], 1), self.payments)


def fake_check(log: fakes.MemoryLog, at: datetime) -> OverdueCheck:
    """The overdue check on the fakes, with the clock at `at`."""
    return OverdueCheck(lambda: fakes.MemoryOverdueUnitOfWork(log), ManualClock(at), RandomIds(), NoCache())


# Counts that came to nothing are no rows: a rebuild writes none, a live table may keep a zeroed one.
def _kept(projection: Table[Any], row: Any) -> bool:
    return isinstance(projection, Rows) or any(
        getattr(row, name) for name in projection.columns if name not in projection.key
    )


async def database_rows(conn: Connection, projection: Table[Any], table: str | None = None) -> list[Any]:
    """A table's rows as the registry's row type (a versioned table's current versions), in key order."""
    columns = projection.columns
    current = sql.SQL("WHERE valid_to IS NULL" if isinstance(projection, Rows) and projection.versioned else "")
    cursor = await conn.execute(
        sql.SQL("SELECT {} FROM {} {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table or projection.name), current
        )
    )
    rows = [msgspec.convert(dict(zip(columns, row, strict=True)), projection.table) for row in await cursor.fetchall()]
    return sorted((row for row in rows if _kept(projection, row)), key=lambda row: str(projection.key_of(row)))


def fake_rows(log: fakes.MemoryLog, projection: Table[Any]) -> list[Any]:
    rows = [row for row in log.tables[projection.name].values() if _kept(projection, row)]
    return sorted(rows, key=lambda row: str(projection.key_of(row)))


class Followed:
    """A table projection applied by a log follower into `<name>__followed`, with a checkpoint of its own."""

    def __init__(self, projection: Table[Any]) -> None:
        self.name = f"{projection.name}__followed"
        self._inner = ProjectionFollower(projection, "__followed")

    async def handle(self, conn: Connection, records: Any) -> None:
        await self._inner.handle(conn, records)


async def follow_from_the_start(pool: Pool) -> None:
    """Every table projection, applied by a follower from the start of the log into tables of its own."""
    async with pool.connection() as conn:
        for projection in TABLES:
            await conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(f"{projection.name}__followed"), sql.Identifier(projection.name)
                )
            )
    for projection in TABLES:
        follower = Followed(projection)
        while await run_batch(pool, follower):
            pass


@contextlib.asynccontextmanager
async def example_database(servers: tuple[str, str], template: str) -> AsyncIterator[str]:
    with fresh_database(servers[0], template) as url:
        yield url


@hypothesis.settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=mixed, second=mixed)
async def test_every_path_gives_the_same_rows(
    servers: tuple[str, str], template_database: str, settings: Settings, first: list[Step], second: list[Step]
) -> None:
    world = World()
    fake = Run(world.deps, Gateway(), lambda at: fake_check(world.log, at))
    async with example_database(servers, template_database) as url, open_pool(url, size=6, checkout_seconds=10) as pool:
        async with deps_over(pool, msgspec.structs.replace(settings, database_url=url)) as wired:
            live = Run(wired, Gateway(), lambda at: overdue_check(pool, ManualClock(at)))
            with stored_as_v1():
                for step in first:
                    await fake.step(step)
                    await live.step(step)
                async with pool.connection() as conn:
                    for projection in TABLES:
                        if projection.mode is Mode.INLINE:
                            assert await database_rows(conn, projection) == fake_rows(world.log, projection), (
                                f"{projection.name}: inline and fake"
                            )
                for step in second:
                    await fake.step(step)

                async def appending() -> None:
                    for step in second:
                        await live.step(step)
                        await asyncio.sleep(0)

                async def rebuilding() -> None:
                    for projection in TABLES:
                        await rebuild(url, projection.name)

                await asyncio.gather(appending(), rebuilding())
        live_activity = ProjectionFollower(TASK_ACTIVITY)  # goes on from the checkpoint its rebuild handed over
        while await run_batch(pool, live_activity):
            pass
        await follow_from_the_start(pool)
        async with pool.connection() as conn:
            for projection in TABLES:
                expected = fake_rows(world.log, projection)
                assert await database_rows(conn, projection) == expected, f"{projection.name}: rebuilt and fake"
                followed = await database_rows(conn, projection, f"{projection.name}__followed")
                assert followed == expected, f"{projection.name}: followed and fake"

"""First-start data: two logins and the five sample tasks, decided by the API's domain commands, in one unit of work."""

import asyncio
from datetime import timedelta

import msgspec

from application.context import RequestContext
from application.errors import EmailTaken
from application.records import StreamAppend
from application.users import UserDeps
from domain import tasks, users
from domain.values import Priority, Role, TaskStatus


class Login(msgspec.Struct, frozen=True):
    email: str
    name: str
    password: str
    role: Role


# The contract's published development logins; `taskflow seed` refuses to run in production.
ADMIN = Login(
    email="admin@example.com",
    name="Admin",
    password="admin123",  # noqa: S106
    role=Role.ADMIN,
)
USER = Login(
    email="user@example.com",
    name="User",
    password="user123",  # noqa: S106
    role=Role.USER,
)

SEED_CONTEXT = RequestContext(actor=None, request_id="seed", correlation_id="seed")

# (owner, title, status, priority, due in)
SAMPLE_TASKS = [
    (ADMIN, "Complete project documentation", TaskStatus.IN_PROGRESS, Priority.HIGH, timedelta(days=7)),
    (ADMIN, "Implement user authentication", TaskStatus.COMPLETED, Priority.HIGH, timedelta(days=-3)),
    (USER, "Design database schema", TaskStatus.PENDING, Priority.MEDIUM, timedelta(days=14)),
    (USER, "Setup development environment", TaskStatus.PENDING, Priority.LOW, timedelta(days=1)),
    (ADMIN, "Review pull requests", TaskStatus.IN_PROGRESS, Priority.MEDIUM, timedelta(hours=5)),
]


async def seed(deps: UserDeps) -> bool:
    """Seed once, all of it or nothing: False (and nothing written) when the seeded admin exists already."""
    now = deps.clock.now()
    ids = {login.email: deps.ids.new() for login in (ADMIN, USER)}
    appends: list[StreamAppend] = []
    for login in (ADMIN, USER):
        registered = users.decide(users.RegisterUser(login.email, login.name, login.role), users.INITIAL)
        appends.append(StreamAppend(ids[login.email], users.STREAM_TYPE, 0, list(registered)))
    for owner, title, status, priority, due_in in SAMPLE_TASKS:
        command = tasks.CreateTask(ids[owner.email], title, status=status, priority=priority, due_date=now + due_in)
        appends.append(StreamAppend(deps.ids.new(), tasks.STREAM_TYPE, 0, list(tasks.decide(command, tasks.INITIAL))))
    hashes = await asyncio.gather(*(asyncio.to_thread(deps.hasher.hash, login.password) for login in (ADMIN, USER)))
    try:
        async with deps.uow() as uow:
            for login, password_hash in zip((ADMIN, USER), hashes, strict=True):
                await uow.credentials.save(ids[login.email], login.email, password_hash)
            await uow.events.append(appends, SEED_CONTEXT.metadata(), now)
    except EmailTaken:
        return False
    return True

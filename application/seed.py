"""First-start data: two logins and the five sample tasks, written through the ordinary commands."""

from datetime import timedelta

from application.context import Actor, RequestContext
from application.errors import EmailTaken
from application.services import Services
from application.tasks import CreateTask, create_task
from application.users import RegisterUser, register_user
from domain.values import Priority, Role, TaskStatus

# The contract's published development logins; `taskflow seed` refuses to run in production.
ADMIN = RegisterUser(
    email="admin@example.com",
    name="Admin",
    password="admin123",  # noqa: S106
    role=Role.ADMIN,
)
USER = RegisterUser(
    email="user@example.com",
    name="User",
    password="user123",  # noqa: S106
    role=Role.USER,
)

SEED_CONTEXT = RequestContext(actor=None, request_id="seed", correlation_id="seed")


async def seed(services: Services) -> bool:
    """Seed once: False (and nothing written) when the seeded admin exists already."""
    try:
        admin = await register_user(ADMIN, SEED_CONTEXT, services)
    except EmailTaken:
        return False
    user = await register_user(USER, SEED_CONTEXT, services)
    now = services.clock.now()
    samples = [
        (admin.user.id, "Complete project documentation", TaskStatus.IN_PROGRESS, Priority.HIGH, timedelta(days=7)),
        (admin.user.id, "Implement user authentication", TaskStatus.COMPLETED, Priority.HIGH, timedelta(days=-3)),
        (user.user.id, "Design database schema", TaskStatus.PENDING, Priority.MEDIUM, timedelta(days=14)),
        (user.user.id, "Setup development environment", TaskStatus.PENDING, Priority.LOW, timedelta(days=1)),
        (admin.user.id, "Review pull requests", TaskStatus.IN_PROGRESS, Priority.MEDIUM, timedelta(hours=5)),
    ]
    for owner_id, title, status, priority, due_in in samples:
        ctx = RequestContext(actor=Actor(owner_id, Role.USER), request_id="seed", correlation_id="seed")
        await create_task(
            CreateTask(title=title, status=status, priority=priority, due_date=now + due_in), ctx, services
        )
    return True

"""Task queries: read-model lookups, authorised here."""

from uuid import UUID

import msgspec

from application.context import RequestContext
from application.cursors import decode_cursor, page_of
from application.errors import Forbidden, NotFound
from application.services import Services
from application.tasks import acting_user
from application.views import TaskListing, TaskPage, TaskView
from domain.values import Priority, TaskStatus


class ListTasks(msgspec.Struct, frozen=True):
    statuses: tuple[TaskStatus, ...] = ()
    priorities: tuple[Priority, ...] = ()
    owner_id: UUID | None = None
    limit: int = 20
    cursor: str | None = None


async def get_task(task_id: UUID, ctx: RequestContext, services: Services) -> TaskView:
    """The task, if the caller may see it."""
    actor = acting_user(ctx)
    view = await services.tasks.get(task_id)
    if view is None or not actor.may_act_on(view.owner_id):
        raise NotFound("task")
    return view


async def list_tasks(query: ListTasks, ctx: RequestContext, services: Services) -> TaskPage:
    """One page, newest first: the caller's tasks, or for an admin every task (or one owner's)."""
    actor = acting_user(ctx)
    if query.owner_id is not None and not actor.may_act_on(query.owner_id):
        raise Forbidden("only an admin may list another user's tasks")
    owner_id = query.owner_id if actor.is_admin else actor.user_id
    after = decode_cursor(services.cursor_secret, query.cursor) if query.cursor else None
    rows = await services.tasks.list(TaskListing(owner_id, query.statuses, query.priorities, query.limit + 1, after))
    page, next_cursor = page_of(services.cursor_secret, rows, query.limit)
    return TaskPage(data=page, next_cursor=next_cursor)

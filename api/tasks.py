"""Task routes: thin translations between HTTP and the application's handlers."""

import hashlib
from datetime import date, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import FromPath, HeaderParameter, QueryParameter

from api.dependencies import Context, TaskReads, Tasks
from api.hooks import ADMITTED_WITH_READ, authenticated
from api.kept_answers import KEEPS_ANSWER, keep, names_tag, naming_only
from api.openapi import BEARER, problems, task_response
from api.problems import RAW_BODY
from api.schemas import BatchError, BatchResponse, BatchResult, named_body
from application import batch, queries
from application import tasks as commands
from application.errors import InvalidInput, PreconditionFailed
from application.fields import NO_CONTROL
from application.idempotency import IdempotencyKey
from application.sessions import admitted_read
from application.views import ActivityReport, EventPage, TaskPage, TaskSort, TaskStats, TaskView
from domain.values import Priority, TaskStatus

T = TypeVar("T")
# Named outside the controller, whose `list` route would shadow the builtin in its own signature.
Statuses = list[TaskStatus]
Priorities = list[Priority]

ITEM_ERRORS = {batch.ItemError.NOT_FOUND: BatchError(status=404, title="Not Found")}

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="1-255 printable characters; a repeat within 24 hours gets the first response",
    ),
]


def idempotency(request: Request[Any, Any, Any], key: str | None) -> IdempotencyKey | None:
    """The key, and a fingerprint of the request a repeat must match (method, path and body bytes)."""
    if key is None:
        return None
    body = request.scope["state"].get(RAW_BODY, b"")
    fingerprint = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).digest()
    return IdempotencyKey(key=key, fingerprint=fingerprint)


IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False, description='"<version>" or *')]


def etag(view: TaskView) -> str:
    return f'"{view.version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header pins: None for absent or '*'; a value that names no version fails."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/")
    if len(tag) >= 3 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
        return int(tag[1:-1])
    raise PreconditionFailed()


def timestamp_parameter(name: str) -> Any:
    """A query parameter holding an RFC 3339 timestamp (Litestar would also take a number as one)."""
    return QueryParameter(name=name, required=False, format=OpenAPIFormat.DATE_TIME, max_length=64)


def timestamp(value: str | None, field: str) -> datetime | None:
    """An RFC 3339 timestamp with an offset, in UTC; anything else (a bare number included) is invalid."""
    if value is None:
        return None
    try:
        parsed = msgspec.convert(value, datetime)
    except msgspec.ValidationError as exc:
        raise InvalidInput(field, "must be an RFC 3339 timestamp with an offset") from exc
    return commands.in_utc(parsed, field)


# Kept answers: a walk's first page (a later page's cursor expires, so it is checked each time); the task as it is
# now (as it was at a version or a time is read from the log); the counts.
FIRST_PAGE = naming_only("status", "priority", "dueBefore", "dueAfter", "overdue", "q", "ownerId", "sort", "limit")
CURRENT_TASK = naming_only()
COUNTS = naming_only("ownerId")
# A kept first page hands out its next cursor, which dates from when the page was read: kept a minute at most, so a
# walk begun from it keeps nearly all of its hour (application.cursors.WALK_RETENTION).
FIRST_PAGE_KEPT_SECONDS = 60


def _task_response(view: TaskView, status_code: int = 200) -> Response[TaskView]:
    headers = {"ETag": etag(view)}
    if status_code == 201:
        headers["Location"] = f"/tasks/{view.id}"
    return Response(view, status_code=status_code, headers=headers)


class TaskController(Controller):
    path = "/tasks"
    tags = ["tasks"]
    security = BEARER
    before_request = staticmethod(authenticated)

    @post(
        operation_id="createTask",
        responses=task_response(201, "The task; Location names it, ETag is its version")
        | problems(400, 401, 403, 404, 409, 413, 415, 429, 503),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[commands.CreateTask, named_body("CreateTaskBody")],
        ctx: Context,
        tasks: Tasks,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[TaskView]:
        """Create a task; with an Idempotency-Key, a repeat gets the first response and creates nothing."""
        keyed = idempotency(request, idempotency_key)
        return _task_response(await commands.create_task(data, ctx, tasks, keyed), 201)

    @get(
        operation_id="listTasks",
        responses=problems(400, 401, 403, 429, 503),
        opt={ADMITTED_WITH_READ: True, KEEPS_ANSWER: FIRST_PAGE},
    )
    async def list(
        self,
        request: Request[Any, Any, Any],
        ctx: Context,
        task_reads: TaskReads,
        status: Annotated[Statuses | None, QueryParameter(name="status", required=False)] = None,
        priority: Annotated[Priorities | None, QueryParameter(name="priority", required=False)] = None,
        due_before: Annotated[str | None, timestamp_parameter("dueBefore")] = None,
        due_after: Annotated[str | None, timestamp_parameter("dueAfter")] = None,
        overdue: Annotated[bool, QueryParameter(name="overdue")] = False,
        q: Annotated[str | None, QueryParameter(name="q", required=False, max_length=200, pattern=NO_CONTROL)] = None,
        owner_id: Annotated[UUID | None, QueryParameter(name="ownerId", required=False)] = None,
        sort: Annotated[TaskSort, QueryParameter(name="sort")] = TaskSort.CREATED_DESC,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter(name="cursor", required=False, max_length=2048)] = None,
    ) -> TaskPage:
        """List tasks, filtered and sorted, one keyset page at a time; the walk sees the tasks as of its first page."""
        query = queries.ListTasks(
            statuses=tuple(status or ()),
            priorities=tuple(priority or ()),
            due_before=timestamp(due_before, "dueBefore"),
            due_after=timestamp(due_after, "dueAfter"),
            overdue=overdue,
            text=q,
            owner_id=owner_id,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        page = await queries.list_tasks(query, ctx, task_reads)
        await keep(request, page, at_most_seconds=FIRST_PAGE_KEPT_SECONDS)
        return page

    @get(
        "/stats",
        operation_id="taskStats",
        responses=problems(400, 401, 403, 429, 503),
        opt={ADMITTED_WITH_READ: True, KEEPS_ANSWER: COUNTS},
    )
    async def stats(
        self,
        request: Request[Any, Any, Any],
        ctx: Context,
        task_reads: TaskReads,
        owner_id: Annotated[UUID | None, QueryParameter(name="ownerId", required=False)] = None,
    ) -> TaskStats:
        """Counts of the caller's tasks (an admin's: every task, or one owner's with ownerId)."""
        stats = await queries.task_stats(owner_id, ctx, task_reads)
        await keep(request, stats)
        return stats

    @get("/activity", operation_id="taskActivity", responses=problems(400, 401, 403, 429, 503))
    async def activity(
        self,
        ctx: Context,
        task_reads: TaskReads,
        first: Annotated[date | None, QueryParameter(name="from", required=False)] = None,
        last: Annotated[date | None, QueryParameter(name="to", required=False)] = None,
        owner_id: Annotated[UUID | None, QueryParameter(name="ownerId", required=False)] = None,
    ) -> ActivityReport:
        """Created, completed and deleted per UTC day (to: today, from: 29 days before, by default)."""
        return await queries.task_activity(first, last, owner_id, ctx, task_reads)

    @post("/batch", operation_id="batchTasks", status_code=200, responses=problems(400, 401, 409, 413, 415, 429, 503))
    async def batch(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[batch.BatchTasks, named_body("BatchBody")],
        ctx: Context,
        tasks: Tasks,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> BatchResponse:
        """Complete or delete up to 1,000 tasks in one transaction; failures are reported per task."""
        items = await batch.batch_tasks(data, ctx, tasks, idempotency(request, idempotency_key))
        results = [
            BatchResult(task_id=item.task_id, ok=True)
            if item.error is None
            else BatchResult(task_id=item.task_id, ok=False, error=ITEM_ERRORS[item.error])
            for item in items
        ]
        failed = sum(1 for result in results if not result.ok)
        return BatchResponse(results=results, succeeded=len(results) - failed, failed=failed)

    @get("/{task_id:uuid}/history", operation_id="taskHistory", responses=problems(401, 404, 429, 503))
    async def history(self, task_id: FromPath[UUID], ctx: Context, task_reads: TaskReads) -> EventPage:
        """Every event of the task, in version order (also after it was deleted)."""
        return await queries.task_history(task_id, ctx, task_reads)

    @get(
        "/{task_id:uuid}",
        operation_id="getTask",
        responses=task_response(200, "The task; ETag is its version") | problems(400, 401, 404, 429, 503),
        opt={ADMITTED_WITH_READ: True, KEEPS_ANSWER: CURRENT_TASK},
    )
    async def get(
        self,
        request: Request[Any, Any, Any],
        task_id: FromPath[UUID],
        ctx: Context,
        task_reads: TaskReads,
        version: Annotated[int | None, QueryParameter(name="version", required=False, ge=1)] = None,
        as_of: Annotated[str | None, timestamp_parameter("asOf")] = None,
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match", required=False)] = None,
    ) -> Response[TaskView]:
        """One task, with its version as the ETag; `version` or `asOf` give it as it was then."""

        async def answer() -> Response[TaskView]:
            if version is not None and as_of is not None:
                raise InvalidInput("asOf", "give either version or asOf, not both")
            if version is None and as_of is None:
                view = await queries.get_task(task_id, ctx, task_reads)
                await keep(request, view, etag(view))
            else:
                moment = timestamp(as_of, "asOf")
                view = await queries.get_task_as_of(task_id, version, moment, ctx, task_reads)
            if if_none_match is not None and names_tag(if_none_match, etag(view)):
                return Response(None, status_code=304, headers={"ETag": etag(view)})  # type: ignore[arg-type]
            return _task_response(view)

        # Every way out of this route passes the caller's admission (with the cache's round trip when it reads one).
        return await admitted_read(ctx, task_reads.access_gate, answer)

    @patch(
        "/{task_id:uuid}",
        operation_id="updateTask",
        responses=task_response(200, "The task as changed; ETag is its version")
        | problems(400, 401, 404, 409, 412, 413, 415, 429, 503),
    )
    async def update(
        self,
        task_id: FromPath[UUID],
        data: Annotated[commands.TaskChanges, named_body("UpdateTaskBody")],
        ctx: Context,
        tasks: Tasks,
        if_match: IfMatch = None,
    ) -> Response[TaskView]:
        """Change some fields; a change that changes nothing appends nothing."""
        command = commands.UpdateTask(task_id=task_id, changes=data, expected_version=expected_version(if_match))
        return _task_response(await commands.update_task(command, ctx, tasks))

    @delete("/{task_id:uuid}", operation_id="deleteTask", responses=problems(401, 404, 409, 412, 429, 503))
    async def remove(
        self,
        task_id: FromPath[UUID],
        ctx: Context,
        tasks: Tasks,
        if_match: IfMatch = None,
    ) -> None:
        """Delete a task; its history stays in the log."""
        command = commands.DeleteTask(task_id=task_id, expected_version=expected_version(if_match))
        await commands.delete_task(command, ctx, tasks)

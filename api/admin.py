"""Admin routes: the auditors' feed of the event log, where the projections stand, and the dead-letter queue."""

import enum
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import Stream

from api.dependencies import Audit, Context, Refunds
from api.hooks import authenticated
from api.openapi import BEARER, problems
from application.auditing import EventsPage, ListEvents, list_events, projection_states, stream_events
from application.fields import NO_CONTROL
from application.refunds import DeadLetterPage, list_dead_letters, retry_dead_letter
from application.views import ProjectionState, RefundView

NDJSON = "application/x-ndjson"


class LogOrder(enum.StrEnum):
    OLDEST = "oldest"  # commit order
    NEWEST = "newest"  # newest first


def envelope_id(name: str, note: str = "") -> Any:
    """A query parameter matching an id of the events' metadata (a correlation or causation id)."""
    description = f"events whose metadata has this {name}" + (f" ({note})" if note else "")
    return QueryParameter(
        name=name, required=False, min_length=1, max_length=128, pattern=NO_CONTROL, description=description
    )


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]
    security = BEARER
    before_request = staticmethod(authenticated)

    @get("/events", operation_id="listEvents", responses=problems(400, 401, 403, 429, 503))
    async def events(
        self,
        ctx: Context,
        audit: Audit,
        after: Annotated[str | None, QueryParameter(name="after", required=False, max_length=512)] = None,
        before: Annotated[str | None, QueryParameter(name="before", required=False, max_length=512)] = None,
        order: Annotated[LogOrder, QueryParameter(name="order")] = LogOrder.OLDEST,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=1000)] = 100,
        types: Annotated[list[str] | None, QueryParameter(name="type", required=False)] = None,
        stream_types: Annotated[list[str] | None, QueryParameter(name="streamType", required=False)] = None,
        stream_id: Annotated[UUID | None, QueryParameter(name="streamId", required=False)] = None,
        correlation_id: Annotated[str | None, envelope_id("correlationId")] = None,
        causation_id: Annotated[str | None, envelope_id("causationId", "only with correlationId")] = None,
        accept: Annotated[str | None, HeaderParameter(name="Accept", required=False)] = None,
    ) -> Response[EventsPage] | Stream:
        """The log in commit order (or newest first), a page at a time; with Accept: application/x-ndjson, all of it
        as a stream."""
        query = ListEvents(
            after=after,
            before=before,
            newest_first=order is LogOrder.NEWEST,
            limit=limit,
            types=tuple(types or ()),
            stream_types=tuple(stream_types or ()),
            stream_id=stream_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        if accept and NDJSON in accept:
            return Stream(_lines(stream_events(query, ctx, audit)), media_type=NDJSON)
        return Response(await list_events(query, ctx, audit))

    @get("/dead-letters", operation_id="listDeadLetters", responses=problems(400, 401, 403, 429, 503))
    async def dead_letters(
        self,
        ctx: Context,
        refunds: Refunds,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=100)] = 50,
        cursor: Annotated[str | None, QueryParameter(name="cursor", required=False, max_length=2048)] = None,
    ) -> DeadLetterPage:
        """Refunds that failed for good (FAILED), the longest waiting first, a keyset page at a time."""
        return await list_dead_letters(limit, cursor, ctx, refunds)

    @post(
        "/dead-letters/{refund_id:uuid}/retry",
        operation_id="retryDeadLetter",
        status_code=202,
        responses=problems(401, 403, 404, 409, 429, 503),
    )
    async def retry(self, refund_id: FromPath[UUID], ctx: Context, refunds: Refunds) -> RefundView:
        """Send a dead letter back: a new series of attempts starts at once (409 if it is not FAILED)."""
        return await retry_dead_letter(refund_id, ctx, refunds)

    @get("/projections", operation_id="listProjections", responses=problems(401, 403, 429, 503))
    async def projections(self, ctx: Context, audit: Audit) -> list[ProjectionState]:
        """Each projection's position, lag (events not yet applied) and status (inline, running or stopped)."""
        return await projection_states(ctx, audit)


async def _lines(events: AsyncIterator[msgspec.Struct]) -> AsyncIterator[bytes]:
    async for event in events:
        yield msgspec.json.encode(event) + b"\n"

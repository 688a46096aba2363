"""Admin routes for one stream: its timeline, its state as of a version or a moment, its hash chain verified."""

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from api.dependencies import Audit, Context
from api.hooks import authenticated
from api.openapi import BEARER, problems
from api.tasks import timestamp, timestamp_parameter
from application.stream_history import StreamHistory, StreamQuery, stream_history, verify_stream
from application.views import StreamVerification


class StreamController(Controller):
    path = "/admin/streams"
    before_request = staticmethod(authenticated)
    tags = ["admin"]
    security = BEARER

    @get("/{stream_id:uuid}", operation_id="streamHistory", responses=problems(400, 401, 403, 404, 429, 503))
    async def history(
        self,
        stream_id: FromPath[UUID],
        ctx: Context,
        audit: Audit,
        after: Annotated[int, QueryParameter(name="after", ge=0, le=2**31 - 1)] = 0,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=200)] = 50,
        version: Annotated[int | None, QueryParameter(name="version", required=False, ge=1, le=2**31 - 1)] = None,
        as_of: Annotated[str | None, timestamp_parameter("asOf")] = None,
    ) -> StreamHistory:
        """A stream's events after version `after`, each with the state before and after it, and the state as of
        `version` or `asOf` (default: now; the timeline then stops there too)."""
        query = StreamQuery(stream_id, after, limit, version, timestamp(as_of, "asOf"))
        return await stream_history(query, ctx, audit)

    @get(
        "/{stream_id:uuid}/verification",
        operation_id="verifyStream",
        responses=problems(401, 403, 404, 429, 503),
    )
    async def verification(self, stream_id: FromPath[UUID], ctx: Context, audit: Audit) -> StreamVerification:
        """Whether the stream's versions run from 1 without a gap and its hash chain holds; if not, where it breaks."""
        return await verify_stream(stream_id, ctx, audit)

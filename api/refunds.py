"""Refund routes: request a task's refund, read a refund."""

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from api.dependencies import Context, Refunds, Tasks
from api.hooks import authenticated
from api.openapi import BEARER, problems
from api.tasks import IdempotencyKeyHeader, idempotency
from application.refunds import get_refund, request_refund
from application.views import RefundView


class RefundController(Controller):
    tags = ["refunds"]
    security = BEARER
    before_request = staticmethod(authenticated)

    @post(
        "/tasks/{task_id:uuid}/refund",
        operation_id="requestRefund",
        status_code=202,
        responses=problems(400, 401, 404, 409, 429, 503),
    )
    async def request(
        self,
        request: Request[Any, Any, Any],
        task_id: FromPath[UUID],
        ctx: Context,
        tasks: Tasks,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[RefundView]:
        """Ask for the task's fee back; a background job pays it (409 without a fee, or with a refund already)."""
        refund = await request_refund(task_id, ctx, tasks, idempotency(request, idempotency_key))
        return Response(refund, status_code=202, headers={"Location": f"/refunds/{refund.id}"})

    @get("/refunds/{refund_id:uuid}", operation_id="getRefund", responses=problems(401, 404, 429, 503))
    async def get(self, refund_id: FromPath[UUID], ctx: Context, refunds: Refunds) -> RefundView:
        """One refund, for the owner of its task or an admin; every attempt is in its history."""
        return await get_refund(refund_id, ctx, refunds)

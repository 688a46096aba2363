"""GET /metrics: the Prometheus text format, for this host's processes and for the deployment."""

import asyncio

from litestar import Response, get
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler

from api.openapi import problems
from application.errors import Unauthenticated
from infrastructure.bootstrap import Runtime
from infrastructure.metrics import CONTENT_TYPE, exposition, may_scrape

# Where the app keeps TASKFLOW_METRICS_TOKEN (None: /metrics is open).
METRICS_TOKEN = "metrics_token"  # noqa: S105 - the name of a state key, not a secret


async def scrape_allowed(connection: ASGIConnection[object, object, object, State], handler: BaseRouteHandler) -> None:
    """401 unless the request brings the metrics token (when one is set)."""
    if not may_scrape(connection.headers.get("authorization"), connection.app.state.get(METRICS_TOKEN)):
        raise Unauthenticated()


@get(
    "/metrics",
    operation_id="metrics",
    tags=["operations"],
    media_type=CONTENT_TYPE,
    guards=[scrape_allowed],
    # Optional: the token is asked for only when TASKFLOW_METRICS_TOKEN is set.
    security=[{}, {"MetricsToken": []}],
    responses=problems(401),
    summary="Prometheus metrics",
    description="Request latency per route, events appended by type, cache reads, pool connections (the processes of "
    "this host), and projection lag, refund jobs and dead letters (the deployment, from PostgreSQL, read at most "
    "every few seconds). With TASKFLOW_METRICS_TOKEN set, it needs that bearer token.",
)
async def metrics(state: State) -> Response[bytes]:
    runtime: Runtime = state.runtime
    figures = await runtime.deployment_figures.get()
    # Reading every process's files and formatting them is blocking work: off the event loop.
    return Response(await asyncio.to_thread(exposition, figures), media_type=CONTENT_TYPE)

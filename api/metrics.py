"""GET /metrics: the Prometheus text format, for this host's processes and for the deployment."""

import asyncio

from litestar import Response, get
from litestar.datastructures import State

from infrastructure.bootstrap import Runtime
from infrastructure.metrics import CONTENT_TYPE, exposition


@get(
    "/metrics",
    operation_id="metrics",
    tags=["operations"],
    media_type=CONTENT_TYPE,
    summary="Prometheus metrics",
    description="Request latency per route, events appended by type, cache reads, pool connections (the processes of "
    "this host), and projection lag, refund jobs and dead letters (the deployment, from PostgreSQL, read at most "
    "every few seconds).",
)
async def metrics(state: State) -> Response[bytes]:
    runtime: Runtime = state.runtime
    figures = await runtime.deployment_figures.get()
    # Reading every process's files and formatting them is blocking work: off the event loop.
    return Response(await asyncio.to_thread(exposition, figures), media_type=CONTENT_TYPE)

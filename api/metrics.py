"""GET /metrics: the Prometheus text format, for this host's processes and for the deployment."""

import asyncio
import logging

from litestar import Response, get
from litestar.datastructures import State

from infrastructure.bootstrap import Runtime
from infrastructure.metrics import CONTENT_TYPE, DeploymentFigures, deployment_figures, exposition, record_pool

log = logging.getLogger(__name__)

DATABASE_SECONDS = 2.0


async def _figures(runtime: Runtime) -> DeploymentFigures | None:
    """The deployment's figures, or None when PostgreSQL does not give them in time (the scrape still answers)."""
    try:
        return await asyncio.wait_for(deployment_figures(runtime.pool), DATABASE_SECONDS)
    except Exception:  # a scrape must answer with what this process knows; the gap is a metric of its own
        log.warning("deployment metrics unavailable", exc_info=True)
        return None


@get(
    "/metrics",
    operation_id="metrics",
    tags=["operations"],
    media_type=CONTENT_TYPE,
    summary="Prometheus metrics",
    description="Request latency per route, events appended by type, cache reads, pool connections (the processes of "
    "this host), and projection lag, refund jobs and dead letters (the deployment, from PostgreSQL).",
)
async def metrics(state: State) -> Response[bytes]:
    runtime: Runtime = state.runtime
    record_pool(runtime.pool.get_stats())
    figures = await _figures(runtime)
    return Response(exposition(figures), media_type=CONTENT_TYPE)

"""Liveness and readiness."""

import asyncio

from litestar import Response, get
from litestar.datastructures import State

from api.schemas import Health, Readiness
from infrastructure.bootstrap import Runtime

CHECK_TIMEOUT_SECONDS = 1.0


@get("/health", operation_id="health", tags=["operations"], sync_to_thread=False)
def health() -> Health:
    """200 while the process runs."""
    return Health(status="ok")


async def _check(name: str, probe: asyncio.Future[object] | object) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except Exception:  # any failure means "not ready"; the kind is not the client's business
        return name, "unavailable"
    return name, "ok"


async def _database(runtime: Runtime) -> None:
    async with runtime.pool.connection(timeout=CHECK_TIMEOUT_SECONDS) as conn:
        await conn.execute("SELECT 1")


@get("/ready", operation_id="ready", tags=["operations"], responses={})
async def ready(state: State) -> Response[Readiness]:
    """200 when PostgreSQL and Redis answer, else 503 naming what failed."""
    runtime: Runtime = state.runtime
    checks = dict(await asyncio.gather(_check("postgres", _database(runtime)), _check("redis", runtime.redis.ping())))
    healthy = all(value == "ok" for value in checks.values())
    status_code = 200 if healthy else 503
    headers = {} if healthy else {"Retry-After": "5"}
    return Response(
        Readiness(status="ok" if healthy else "unavailable", checks=checks), status_code=status_code, headers=headers
    )

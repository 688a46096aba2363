"""Benchmarks only (TASKFLOW_BENCH_FLOOR=1): `GET /bench/floor`, the floor of an authenticated cached read."""

from litestar import Request, Response, Router, get
from litestar.datastructures import State
from redis.commands.core import AsyncScript

from application.errors import Unauthenticated

BODY_KEY = "bench:floor"  # under the deployment's namespace
_FETCH = "return redis.call('GET', KEYS[1])"


def floor_router(namespace: str) -> Router:
    """What such a read cannot do without: the token checked (as TaskFlow checks it) and one Redis script call answering
    the body `make bench` stored under BODY_KEY; no guard, dependency, rate window or problem mapping around it."""
    key = f"{namespace}:{BODY_KEY}"
    scripts: dict[int, AsyncScript] = {}  # one registered script per Redis client

    @get("/floor", include_in_schema=False)
    async def floor(request: Request[object, object, State]) -> Response[bytes]:
        runtime = request.app.state.runtime
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated()
        runtime.tokens.verify(token)
        script = scripts.get(id(runtime.redis)) or scripts.setdefault(
            id(runtime.redis), runtime.redis.register_script(_FETCH)
        )
        body = await script(keys=[key])
        return Response(bytes(body or b"{}"), media_type="application/json")

    return Router(path="/bench", route_handlers=[floor])

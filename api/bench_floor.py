"""Benchmarks only (TASKFLOW_BENCH_FLOOR=1): the floors of an authenticated cached read and of a create on this stack.

`GET /bench/floor` does what such a read cannot do without: the token checked (as TaskFlow checks it, remembered once
verified) and one Redis script call (EVALSHA) answering a cached body, with no hook, dependency, rate window or
problem mapping around it. `POST /bench/floor` does what a create cannot do without: the token checked, one Redis
call before (the gate's), one statement writing an event row and a read row (pgbench's minimal two-row
transaction), and one Redis call after (the cache's). `make bench` measures each beside the real route on the same
server.
"""

import hashlib
from typing import Any
from uuid import uuid4

from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from redis.exceptions import NoScriptError

from application.errors import Unauthenticated

BODY_KEY = "bench:floor"  # under the deployment's namespace
_FETCH = "return redis.call('GET', KEYS[1])"
_SHA = hashlib.sha1(_FETCH.encode()).hexdigest()  # noqa: S324 (Redis names scripts by their SHA-1)
MINIMAL_TABLES = """
CREATE TABLE IF NOT EXISTS minimal_events (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, data jsonb);
CREATE TABLE IF NOT EXISTS minimal_reads (id uuid PRIMARY KEY, title text)
"""
_CREATE = """
WITH e AS (INSERT INTO minimal_events (data) VALUES (%s::jsonb) RETURNING position)
INSERT INTO minimal_reads (id, title) SELECT %s, 'bench task' FROM e
"""


def floor_router(namespace: str) -> Router:
    """What such a read cannot do without: the token checked (as TaskFlow checks it) and one Redis script call answering
    the body `make bench` stored under BODY_KEY; no guard, dependency, rate window or problem mapping around it."""
    key = f"{namespace}:{BODY_KEY}"

    async def signed_in(request: Request[object, object, State]) -> Any:
        """The runtime, once the bearer token is verified."""
        runtime = request.app.state.runtime
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated()
        runtime.tokens.verify(token)
        return runtime

    async def fetch(redis: Any) -> Any:
        """One script call, loading the script once when the server lacks it."""
        try:
            return await redis.evalsha(_SHA, 1, key)
        except NoScriptError:
            await redis.script_load(_FETCH)
            return await redis.evalsha(_SHA, 1, key)

    @get("/floor", include_in_schema=False)
    async def floor(request: Request[object, object, State]) -> Response[bytes]:
        runtime = await signed_in(request)
        body = await fetch(runtime.redis)
        return Response(bytes(body or b"{}"), media_type="application/json")

    @post("/floor", include_in_schema=False)
    async def create(request: Request[object, object, State]) -> Response[bytes]:
        runtime = await signed_in(request)
        body = await request.body()
        await fetch(runtime.redis)  # where the gate's call would be
        async with runtime.pool.connection() as conn:
            await conn.execute(_CREATE, (body.decode(), uuid4()))
        await fetch(runtime.redis)  # where the cache's call would be
        return Response(b'{"created":true}', status_code=201, media_type="application/json")

    return Router(path="/bench", route_handlers=[floor, create])

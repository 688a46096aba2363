"""Two deployments side by side, as production and staging often are: one PostgreSQL server (a database each) and
one Redis (a namespace each), each with its API, projector, scheduler and worker as real processes. Each one's
status, metrics, refunds, rate limits and cache describe that deployment alone."""

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import redis

from application.projections.registry import FOLLOWER_NAMES as FOLLOWERS
from infrastructure.processes.embedded_servers import embedded_redis
from infrastructure.settings import Settings
from tests.e2e.processes import background, free_port, run_taskflow, servers_environment, taskflow
from tests.e2e.test_metrics import parse, value
from tests.gateway import ScriptedGateway, serving

WAIT_SECONDS = 60.0
LOGINS_PER_MINUTE = 5
ADMIN = {"email": "admin@example.com", "password": "admin123"}


@dataclass
class Deployment:
    namespace: str
    env: dict[str, str]
    http: httpx.AsyncClient
    gateway: ScriptedGateway
    processes: ExitStack
    running: dict[str, subprocess.Popen[bytes]]
    logs: Path
    headers: dict[str, str]

    async def login(self, password: str = ADMIN["password"]) -> httpx.Response:
        return await self.http.post("/auth/login", json=ADMIN | {"password": password})

    async def get(self, path: str, **params: str) -> Any:
        response = await self.http.get(path, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(path, json=body, headers=self.headers)
        assert response.status_code in (201, 202), response.text
        return response.json()

    def start(self, kind: str) -> None:
        self.running[kind] = self.processes.enter_context(
            background(kind, self.env, self.logs / f"{self.namespace}-{kind}.log")
        )

    def stop(self, kind: str) -> None:
        self.running[kind].send_signal(signal.SIGTERM)
        assert self.running[kind].wait(30) == 0

    async def followers(self) -> dict[str, str]:
        """Each follower's status in GET /admin/projections, and in the `taskflow_projection_running` metric."""
        api = {p["name"]: p["status"] for p in await self.get("/admin/projections")}
        samples = parse((await self.http.get("/metrics")).text)
        metric = {name: value(samples, "taskflow_projection_running", projection=name) for name in FOLLOWERS}
        return {name: f"{api[name]}, metric {metric[name]:.0f}" for name in FOLLOWERS}

    async def listed(self) -> dict[str, str]:
        """Each follower's status in `taskflow projections status`."""
        listed = await run_taskflow(self.env, "projections", "status")
        assert listed.returncode == 0, listed.stderr
        rows = [line.split("\t") for line in listed.stdout.splitlines()[1:]]
        return {row[0]: row[3] for row in rows if row[0] in FOLLOWERS}


RUNNING = dict.fromkeys(FOLLOWERS, "running, metric 1")


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.3)


@asynccontextmanager
async def deployment(settings: Settings, logs: Path) -> AsyncIterator[Deployment]:
    """A whole deployment on `settings`' database and Redis namespace, seeded, its admin logged in."""
    async with AsyncExitStack() as stack:
        gateway = await stack.enter_async_context(serving(ScriptedGateway()))
        env = servers_environment(
            settings,
            TASKFLOW_REFUND_GATEWAY_URL=gateway.url,
            TASKFLOW_LOGIN_RATE_LIMIT=f"{LOGINS_PER_MINUTE}/minute",
            PORT=str(free_port()),
        )
        seeded = await run_taskflow(env, "seed")
        assert seeded.returncode == 0, seeded.stderr
        processes = stack.enter_context(ExitStack())
        url, _ = processes.enter_context(taskflow("serve", env, logs / f"{settings.redis_namespace}-api.log"))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10))
        found = Deployment(settings.redis_namespace, env, http, gateway, processes, {}, logs, {})
        for kind in ("projector", "scheduler", "worker"):
            found.start(kind)
        login = await found.login()
        assert login.status_code == 200, login.text
        found.headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
        yield found


async def test_two_deployments_on_one_server_see_only_themselves(
    settings: Settings, other_database_url: str, tmp_path: Path
) -> None:
    with ExitStack() as servers:
        # A Redis of this test's own, so that every key in it can be accounted for.
        shared_redis = servers.enter_context(embedded_redis(tmp_path / "redis"))
        production_settings = msgspec.structs.replace(settings, redis_url=shared_redis, redis_namespace="taskflow")
        staging_settings = msgspec.structs.replace(
            production_settings, database_url=other_database_url, redis_namespace="taskflow-staging"
        )
        async with (
            deployment(production_settings, tmp_path) as production,
            deployment(staging_settings, tmp_path) as staging,
        ):
            await eventually(lambda: shows(production, RUNNING), "production's followers did not all start")
            await eventually(lambda: shows(staging, RUNNING), "staging's followers did not all start")
            await caches_stay_apart(production, staging)
            await rate_limits_stay_apart(production, staging)
            await refunds_are_paid_by_their_own_workers(production, staging, shared_redis)
            await a_stopped_projector_shows_stopped_only_where_it_stopped(production, staging)
            with redis.Redis.from_url(shared_redis) as client:
                keys = [key.decode() for key in client.scan_iter(count=1000)]
            assert keys
            assert [key for key in keys if not key.startswith(("taskflow:", "taskflow-staging:"))] == []
            assert {key.split(":", 1)[0] for key in keys} == {"taskflow", "taskflow-staging"}


async def shows(one: Deployment, expected: dict[str, str]) -> bool:
    return await one.followers() == expected


async def caches_stay_apart(production: Deployment, staging: Deployment) -> None:
    """The admins' views (cached under "every owner" keys) of each deployment hold its own tasks only."""
    await production.post("/tasks", {"title": "production only"})
    for n in range(2):
        await staging.post("/tasks", {"title": f"staging only {n}"})
    for _ in range(2):  # the second round is answered from the cache
        for one, total, own, other in ((production, 6, "production", "staging"), (staging, 7, "staging", "production")):
            titles = [task["title"] for task in (await one.get("/tasks", limit="100"))["data"]]
            assert any(title.startswith(own) for title in titles), titles
            assert not any(title.startswith(other) for title in titles), titles
            assert (await one.get("/tasks/stats"))["total"] == total


async def rate_limits_stay_apart(production: Deployment, staging: Deployment) -> None:
    """Logins from one address to one account: production's window fills, staging's does not move."""
    answers: list[int] = []
    while 429 not in answers and len(answers) <= LOGINS_PER_MINUTE:
        answers.append((await production.login("wrong password")).status_code)
    assert answers[-1] == 429, answers
    assert (await production.login()).status_code == 429
    assert (await staging.login()).status_code == 200


async def refunds_are_paid_by_their_own_workers(production: Deployment, staging: Deployment, redis_url: str) -> None:
    """Production's worker is stopped: its job waits in its own queue, untouched by staging's worker, and is paid
    through production's gateway once its own worker is back."""
    production.stop("worker")
    refunds = {}
    for one in (production, staging):
        task = await one.post("/tasks", {"title": "paid", "fee": {"amount": 500, "currency": "EUR"}})
        refunds[one.namespace] = (await one.post(f"/tasks/{task['id']}/refund"))["id"]
    await eventually(lambda: refund_is(staging, refunds["taskflow-staging"], "SUCCEEDED"), "staging's refund unpaid")
    with redis.Redis.from_url(redis_url) as client:

        def queued() -> bool:
            return bool(client.xlen("taskflow:jobs:refunds") == 1)

        await eventually(lambda: asyncio.to_thread(queued), "production's queue does not hold its one job")
    await asyncio.sleep(2)  # staging's worker reads every second: time enough to take a job it could see
    assert await refund_is(production, refunds["taskflow"], "REQUESTED")
    production.start("worker")
    await eventually(lambda: refund_is(production, refunds["taskflow"], "SUCCEEDED"), "production's refund unpaid")
    assert [call.key for call in production.gateway.calls] == [refunds["taskflow"]]
    assert [call.key for call in staging.gateway.calls] == [refunds["taskflow-staging"]]


async def refund_is(one: Deployment, refund_id: str, status: str) -> bool:
    found: dict[str, Any] = await one.get(f"/refunds/{refund_id}")
    return bool(found["status"] == status)


async def a_stopped_projector_shows_stopped_only_where_it_stopped(production: Deployment, staging: Deployment) -> None:
    production.stop("projector")
    stopped = RUNNING | dict.fromkeys(("task_activity", "cache_backstop", "audit_tree"), "stopped, metric 0")
    # The metrics are read from PostgreSQL at most every 5 seconds: a scrape may answer from before the stop.
    await eventually(lambda: shows(production, stopped), "production's stopped projector still looks alive")
    assert await staging.followers() == RUNNING
    assert await production.listed() == {name: status.split(",")[0] for name, status in stopped.items()}
    assert await staging.listed() == dict.fromkeys(FOLLOWERS, "running")

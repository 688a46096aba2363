"""GET /metrics: request latency per route, appended events by type, cache reads and pool connections for the
processes of a host (summed over granian's workers), and projection lag, refund jobs and dead letters for the
deployment."""

import asyncio
import base64
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import msgspec
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from application import tasks as task_commands
from application.context import Actor, RequestContext
from application.refunds import get_refund, request_refund
from domain.refunds import RefundStatus
from domain.values import Money, Role
from infrastructure.bootstrap import open_runtime
from infrastructure.processes.scheduler import run_scheduler
from infrastructure.settings import Settings
from tests.e2e.helpers import Client, assert_problem, bearer, create_task
from tests.e2e.processes import free_port, servers_environment, taskflow

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
METRICS_TOKEN = "scrape-token-of-twenty-four"


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_metrics_count_requests_appends_and_cache_reads(client: Client, alice: dict[str, Any]) -> None:
    before = await scrape(client)
    await create_task(client, alice, title="counted")
    for _ in range(2):
        assert (await client.get("/tasks", headers=bearer(alice))).status_code == 200
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("taskflow_events_appended_total", type="TaskCreated") == 1
    created = {"method": "POST", "route": "/tasks", "status": "201"}
    assert grew("taskflow_http_request_duration_seconds_count", **created) == 1
    assert grew("taskflow_http_request_duration_seconds_bucket", **created, le="+Inf") == 1
    assert grew("taskflow_http_request_duration_seconds_sum", **created) > 0
    assert grew("taskflow_cache_reads_total", result="miss") >= 1
    assert grew("taskflow_cache_reads_total", result="hit") >= 1
    assert value(after, "taskflow_db_pool_connections", state="open") >= 1


async def test_a_refused_command_appends_nothing(client: Client, alice: dict[str, Any]) -> None:
    before = await scrape(client)
    response = await client.post("/tasks", json={"title": ""}, headers=bearer(alice))
    assert response.status_code == 400
    after = await scrape(client)
    assert value(after, "taskflow_events_appended_total", type="TaskCreated") == value(
        before, "taskflow_events_appended_total", type="TaskCreated"
    )
    refused = {"method": "POST", "route": "/tasks", "status": "400"}
    assert value(after, "taskflow_http_request_duration_seconds_count", **refused) == 1 + value(
        before, "taskflow_http_request_duration_seconds_count", **refused
    )


async def test_metrics_report_the_deployment_from_the_database(client: Client, alice: dict[str, Any]) -> None:
    await create_task(client, alice)
    samples = await scrape(client)
    assert value(samples, "taskflow_database_metrics_up") == 1
    for projection in ("tasks_view", "users_view", "refunds_view", "task_activity", "refund_dispatcher"):
        assert ("taskflow_projection_lag_events", frozenset({("projection", projection)})) in samples
    assert value(samples, "taskflow_projection_lag_events", projection="tasks_view") == 0  # inline
    assert value(samples, "taskflow_projection_running", projection="tasks_view") == 1
    # No projector runs in this test: the followers are stopped and behind by every event.
    assert value(samples, "taskflow_projection_running", projection="task_activity") == 0
    assert value(samples, "taskflow_projection_lag_events", projection="task_activity") >= 2
    for name in ("taskflow_refund_job_attempts_total", "taskflow_refund_job_retries_total", "taskflow_dead_letters"):
        assert any(key[0] == name for key in samples), name
        assert value(samples, name) == 0, name


async def test_methods_outside_http_are_one_label(client: Client) -> None:
    await client.request("BREW", "/health")
    samples = await scrape(client)
    methods = {dict(labels).get("method") for name, labels in samples if name.startswith("taskflow_http_request")}
    assert "BREW" not in methods
    assert "OTHER" in methods


async def health_checks(url: str, count: int) -> list[httpx.Response]:
    async def one() -> httpx.Response:
        async with httpx.AsyncClient() as client:  # a connection of its own
            response = await client.get(f"{url}/health")
            assert response.status_code == 200
            return response

    return await asyncio.gather(*(one() for _ in range(count)))


def test_a_scrape_sums_every_worker_of_the_server(settings: Settings, tmp_path: Path) -> None:
    """Two granian workers: whichever answers a scrape counts the requests both served."""
    assert settings.database_url
    assert settings.redis_url
    directory = tmp_path / "metrics"
    env = servers_environment(
        settings,
        TASKFLOW_WORKERS="2",
        PROMETHEUS_MULTIPROC_DIR=str(directory),
        PORT=str(free_port()),
    )
    health = {"method": "GET", "route": "/health", "status": "200"}
    with taskflow("serve", env, tmp_path / "api.log") as (url, _):
        before = value(
            parse(httpx.get(f"{url}/metrics").text), "taskflow_http_request_duration_seconds_count", **health
        )
        # Concurrent connections until both workers have served some (each then has files of its own).
        sent = 0
        deadline = time.monotonic() + 30
        while len(list(directory.glob("histogram_*.db"))) < 2:
            assert time.monotonic() < deadline, "one worker served every request"
            sent += len(asyncio.run(health_checks(url, 20)))
        for _ in range(6):
            scraped = parse(httpx.get(f"{url}/metrics").text)
            assert value(scraped, "taskflow_http_request_duration_seconds_count", **health) - before >= sent
    # The workers log as the process was told to: JSON lines with the access fields (not Litestar's own format).
    lines = [json.loads(line) for line in (tmp_path / "api.log").read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "taskflow.access" and line["route"] == "/health"]
    assert len(access) >= sent
    assert {"requestId", "correlationId", "userId", "method", "status", "latencyMs"} <= set(access[0])


class TestMetricsToken:
    async def test_with_a_token_set_a_scrape_needs_it(self, settings: Settings) -> None:
        guarded = msgspec.structs.replace(settings, metrics_token=METRICS_TOKEN)
        async with AsyncTestClient(app=create_app(guarded)) as client:
            for headers in (
                {},
                {"Authorization": "Bearer wrong"},
                {"Authorization": f"Bearer {METRICS_TOKEN}x"},
                {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"},
                {"Authorization": METRICS_TOKEN},
                {"Authorization": "Basic " + base64.b64encode(f"prometheus:{METRICS_TOKEN}".encode()).decode()},
            ):
                refused = await client.get("/metrics", headers=headers)
                assert_problem(refused, 401)
                assert refused.headers["www-authenticate"].startswith("Bearer"), headers
            scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert scraped.status_code == 200
            assert "taskflow_http_request_duration_seconds" in scraped.text

    async def test_without_one_metrics_stay_open(self, client: Client) -> None:
        await scrape(client)


async def test_a_worker_serves_its_own_metrics(settings: Settings, tmp_path: Path) -> None:
    """With TASKFLOW_METRICS_PORT, a process without an API (here the worker) serves what it counted itself, to
    whoever brings TASKFLOW_METRICS_TOKEN."""
    assert settings.database_url
    assert settings.redis_url
    port = free_port()
    env = servers_environment(
        settings,
        TASKFLOW_METRICS_PORT=str(port),
        TASKFLOW_METRICS_TOKEN=METRICS_TOKEN,
    )
    ctx = RequestContext(actor=Actor(uuid4(), Role.USER), request_id="test")
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(settings, stop))
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        command = [sys.executable, "-m", "cli", "worker"]
        worker = await asyncio.to_thread(subprocess.Popen, command, env=env, stdout=output, stderr=output)
    try:
        async with open_runtime(settings) as runtime:
            paid = task_commands.CreateTask(title="Paid", fee=Money(amount=100, currency="EUR"))
            task = await task_commands.create_task(paid, ctx, runtime.deps.tasks)
            refund = await request_refund(task.id, ctx, runtime.deps.tasks)
            deadline = time.monotonic() + 60
            while (await get_refund(refund.id, ctx, runtime.deps.refunds)).status is not RefundStatus.SUCCEEDED:
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.1)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as client:
            refused = await client.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": "Bearer x"})
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            # Counted right after the worker's commit, which the refund's status above may beat by a moment.
            while True:
                samples = parse((await client.get(f"http://127.0.0.1:{port}/metrics")).text)
                if (
                    value(samples, "taskflow_events_appended_total", type="RefundSucceeded")
                    or time.monotonic() > deadline
                ):
                    break
                await asyncio.sleep(0.1)
        assert value(samples, "taskflow_events_appended_total", type="RefundSucceeded") == 1
        assert value(samples, "taskflow_events_appended_total", type="TaskCreated") == 0  # not this process's
    finally:
        stop.set()
        await asyncio.wait_for(scheduler, 30)
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 30) == 0, log.read_text()

"""SIGTERM: a process stops taking work, finishes what it is doing within TASKFLOW_SHUTDOWN_SECONDS, and exits 0.
The API answers a request that was in flight; the worker finishes the job it was running and acknowledges it."""

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from uuid import uuid4

import httpx
import msgspec
import psycopg
import pytest

from application.context import Actor, RequestContext
from application.refunds import get_refund, request_refund
from application.tasks import CreateTask, create_task
from domain.refunds import RefundStatus
from domain.values import Money, Role
from infrastructure.bootstrap import open_runtime
from infrastructure.processes.scheduler import run_scheduler
from infrastructure.settings import Settings
from tests.e2e.helpers import hold_counters
from tests.e2e.processes import free_port, servers_environment, stop_all, taskflow
from tests.gateway import ScriptedGateway, serving

SHUTDOWN_SECONDS = 10


def environment(settings: Settings, **overrides: str) -> dict[str, str]:
    return servers_environment(
        settings,
        TASKFLOW_SHUTDOWN_SECONDS=str(SHUTDOWN_SECONDS),
        **overrides,
    )


def test_the_api_answers_a_request_in_flight_at_sigterm(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url
    env = environment(settings, PORT=str(free_port()), TASKFLOW_WORKERS="2", TASKFLOW_DATABASE_TIMEOUT_SECONDS="20")
    log = tmp_path / "serve.log"
    with taskflow("serve", env, log) as (url, server):
        session = httpx.post(
            f"{url}/auth/register", json={"email": "drain@example.com", "name": "D", "password": "long enough"}
        ).json()
        headers = {"Authorization": f"Bearer {session['accessToken']}"}
        owner = session["user"]["id"]
        answers: list[httpx.Response] = []
        with psycopg.connect(settings.database_url) as holder:
            # The create waits on the owner's counters rows, held here: it is in flight when SIGTERM arrives.
            hold_counters(holder, owner)
            creating = threading.Thread(
                target=lambda: answers.append(
                    httpx.post(f"{url}/tasks", json={"title": "in flight"}, headers=headers, timeout=30)
                )
            )
            creating.start()
            waiting_on_lock(settings.database_url)
            server.send_signal(signal.SIGTERM)
            time.sleep(1.5)
            with pytest.raises(httpx.ConnectError):  # no longer taking connections
                httpx.get(f"{url}/health", timeout=5)
            holder.rollback()  # the create goes on
            creating.join(30)
        assert [answer.status_code for answer in answers] == [201], log.read_text()
        assert server.wait(SHUTDOWN_SECONDS + 5) == 0, log.read_text()
    with psycopg.connect(settings.database_url) as conn:
        created = conn.execute("SELECT title FROM tasks_view WHERE id = %s", (answers[0].json()["id"],)).fetchone()
    assert created == ("in flight",)


def waiting_on_lock(database_url: str) -> None:
    """Until another session (the API's create) waits for a lock: the request is in flight."""
    deadline = time.monotonic() + 30
    with psycopg.connect(database_url, autocommit=True) as conn:
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        while conn.execute(waiting).fetchone() != (1,):
            assert time.monotonic() < deadline, "the create never reached the held lock"
            time.sleep(0.05)


async def test_the_worker_finishes_its_job_at_sigterm_and_acknowledges_it(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    ctx = RequestContext(actor=Actor(uuid4(), Role.USER), request_id="test")
    stop = asyncio.Event()
    async with serving(ScriptedGateway(delay_seconds=2.0)) as gateway:
        tuned = msgspec.structs.replace(settings, refund_gateway_url=gateway.url)
        env = environment(
            settings,
            TASKFLOW_REFUND_GATEWAY_URL=gateway.url,
            TASKFLOW_REFUND_GATEWAY_TIMEOUT_SECONDS="5",
            TASKFLOW_JOB_REDELIVERY_SECONDS="6",
        )

        def worker(**extra: str) -> subprocess.Popen[bytes]:
            with log.open("ab") as output:
                return subprocess.Popen(
                    [sys.executable, "-m", "cli", "worker"], env=env | extra, stdout=output, stderr=output
                )

        scheduler = asyncio.create_task(run_scheduler(tuned, stop))
        first = worker()
        second: subprocess.Popen[bytes] | None = None
        try:
            async with open_runtime(tuned) as runtime:
                task = await create_task(
                    CreateTask(title="Paid", fee=Money(amount=500, currency="EUR")), ctx, runtime.deps.tasks
                )
                refund = await request_refund(task.id, ctx, runtime.deps.tasks)
                await asyncio.wait_for(gateway.arrived.wait(), 60)  # the worker is inside the 2 s gateway call
                first.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(first.wait, SHUTDOWN_SECONDS + 5)
                assert code == 0, log.read_text()
                found = await get_refund(refund.id, ctx, runtime.deps.refunds)
                assert (found.status, found.attempts) == (RefundStatus.SUCCEEDED, 1), log.read_text()
                # Acknowledged: a worker listening past the redelivery timeout is not handed the job again.
                listening = tmp_path / "second.alive"
                second = worker(TASKFLOW_HEARTBEAT_FILE=str(listening))
                deadline = time.monotonic() + 60
                while not listening.exists():
                    assert time.monotonic() < deadline, log.read_text()
                    await asyncio.sleep(0.1)
                await asyncio.sleep(6 + 2)  # the redelivery timeout, and a reclaim round
        finally:
            stop.set()
            await asyncio.wait_for(scheduler, 30)
            stop_all((first, second))
    assert len(gateway.calls) == 1
    assert gateway.paid(str(refund.id)) == 1

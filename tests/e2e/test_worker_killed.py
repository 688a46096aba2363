"""A `taskflow worker` process killed with SIGKILL in the middle of a job: the job is delivered again (with no
other job arriving after it), and the refund is paid once, with the same idempotency key every time."""

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

import msgspec

from application.context import Actor, RequestContext
from application.refunds import get_refund, request_refund
from application.tasks import CreateTask, create_task
from domain.refunds import RefundStatus
from domain.values import Money, Role
from infrastructure.bootstrap import open_runtime
from infrastructure.processes.scheduler import run_scheduler
from infrastructure.settings import Settings
from tests.e2e.processes import servers_environment, stop_all
from tests.gateway import HANG, ScriptedGateway, serving

REDELIVERY_SECONDS = 3.0


def start_worker(settings: Settings, gateway_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = servers_environment(
        settings,
        TASKFLOW_REFUND_GATEWAY_URL=gateway_url,
        TASKFLOW_REFUND_GATEWAY_TIMEOUT_SECONDS="2",
        TASKFLOW_JOB_REDELIVERY_SECONDS=str(REDELIVERY_SECONDS),
    )
    with log.open("ab") as output:
        return subprocess.Popen([sys.executable, "-m", "cli", "worker"], env=env, stdout=output, stderr=output)


async def test_a_job_in_flight_when_its_worker_is_killed_is_paid_once(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    ctx = RequestContext(actor=Actor(uuid4(), Role.USER), request_id="test")
    stop = asyncio.Event()
    async with serving(ScriptedGateway(script=[HANG])) as gateway:
        tuned = msgspec.structs.replace(settings, refund_gateway_url=gateway.url)
        scheduler = asyncio.create_task(run_scheduler(tuned, stop))
        first = start_worker(settings, gateway.url, log)
        second: subprocess.Popen[bytes] | None = None
        try:
            async with open_runtime(tuned) as runtime:
                task = await create_task(
                    CreateTask(title="Paid", fee=Money(amount=900, currency="USD")), ctx, runtime.deps.tasks
                )
                refund = await request_refund(task.id, ctx, runtime.deps.tasks)
                await asyncio.wait_for(gateway.arrived.wait(), 60)  # the first worker is inside the gateway call
                first.send_signal(signal.SIGKILL)
                first.wait(10)
                killed_at = time.monotonic()
                second = start_worker(settings, gateway.url, log)
                deadline = time.monotonic() + 60
                while (
                    found := await get_refund(refund.id, ctx, runtime.deps.refunds)
                ).status is RefundStatus.REQUESTED:
                    assert time.monotonic() < deadline, log.read_text()
                    await asyncio.sleep(0.1)
        finally:
            stop.set()
            await asyncio.wait_for(scheduler, 30)
            stop_all((first, second))
    assert (found.status, found.attempts) == (RefundStatus.SUCCEEDED, 1), log.read_text()
    assert [call.key for call in gateway.calls] == [str(refund.id)] * 2
    assert gateway.paid(str(refund.id)) == 1
    # Delivered again once the dead worker's delivery had been idle for the redelivery timeout, not before.
    assert gateway.calls[1].at - killed_at >= REDELIVERY_SECONDS - 2.0
    assert second is not None
    assert second.returncode == 0, log.read_text()

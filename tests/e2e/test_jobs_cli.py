"""`taskflow jobs`: status, and the dead-letter queue listed, retried and purged from the command line."""

import json
from uuid import uuid4

import msgspec

from application.context import Actor, RequestContext
from application.refunds import request_refund
from application.tasks import CreateTask, create_task
from domain.values import Money, Role
from infrastructure.bootstrap import open_runtime
from infrastructure.settings import Settings
from tests.e2e.processes import run_taskflow, servers_environment
from tests.gateway import ScriptedGateway, serving
from tests.integration.test_refund_jobs import job_settings, running, settled


def cli_environment(settings: Settings, gateway_url: str) -> dict[str, str]:
    return servers_environment(
        settings,
        TASKFLOW_REFUND_GATEWAY_URL=gateway_url,
    )


async def test_dead_letters_from_the_command_line(settings: Settings) -> None:
    ctx = RequestContext(actor=Actor(uuid4(), Role.USER), request_id="test")
    async with serving(ScriptedGateway(then=400)) as gateway:
        tuned = job_settings(settings, gateway)
        env = cli_environment(settings, gateway.url)
        async with open_runtime(tuned) as runtime:
            task = await create_task(
                CreateTask(title="Paid", fee=Money(amount=300, currency="EUR")), ctx, runtime.deps.tasks
            )
            refund = await request_refund(task.id, ctx, runtime.deps.tasks)
            async with running(tuned):
                await settled(runtime.deps, ctx, refund.id)

                status = await run_taskflow(env, "jobs", "status")
                assert status.returncode == 0, status.stderr
                assert "dead letters\t1" in status.stdout
                listed = await run_taskflow(env, "jobs", "dead-letters", "list")
                assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [str(refund.id)]

                retried = await run_taskflow(env, "jobs", "dead-letters", "retry", str(refund.id))
                assert retried.returncode == 0, retried.stderr
                assert json.loads(retried.stdout)["status"] == "REQUESTED"
                failed_again = await settled(runtime.deps, ctx, refund.id)
                assert failed_again.attempts == 2

                purged = await run_taskflow(env, "jobs", "dead-letters", "purge")
                assert purged.stdout.strip() == "purged 1 dead letter(s)"
                listed = await run_taskflow(env, "jobs", "dead-letters", "list")
                assert listed.stdout == ""
                not_failed = await run_taskflow(env, "jobs", "dead-letters", "retry", str(uuid4()))
                assert (not_failed.returncode, not_failed.stderr.strip()) == (1, "Error: no such refund")
    assert msgspec.json.decode(retried.stdout)["attempts"] == 1

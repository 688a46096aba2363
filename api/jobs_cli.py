"""`taskflow jobs`: the refund job queue and its dead letters, for operators. The runtime and the broker are
imported where they are used, so that loading the command line does not load taskiq (see api.cli)."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import click
import msgspec

from application.context import Actor, RequestContext
from application.errors import NotFound, ServiceUnavailable
from application.refunds import RefundDeps, dismiss_dead_letter, list_dead_letters, retry_dead_letter
from application.views import RefundView
from domain.errors import RefundNotFailed, RefundNotFound
from domain.values import Role
from infrastructure.settings import Settings

if TYPE_CHECKING:
    from infrastructure.redis.job_status import JobStatus

T = TypeVar("T")

# The operator at the command line acts as an admin; events it causes name the nil id as their actor.
OPERATOR = RequestContext(actor=Actor(UUID(int=0), Role.ADMIN), request_id="cli", correlation_id="cli")
PAGE = 100


def _with_refunds(settings: Settings, work: Callable[[RefundDeps], Awaitable[T]]) -> T:
    from infrastructure.bootstrap import open_runtime

    async def run() -> T:
        async with open_runtime(settings) as runtime:
            return await work(runtime.deps.refunds)

    try:
        return asyncio.run(run())
    except NotFound:
        raise click.ClickException("no such refund") from None
    except ServiceUnavailable:
        raise click.ClickException("the database did not answer; try again") from None
    except (RefundNotFailed, RefundNotFound):
        raise click.ClickException("that refund is not a dead letter (only a FAILED refund can be retried)") from None


def _line(refund: RefundView) -> str:
    return msgspec.json.encode(refund).decode()


async def _all_dead_letters(refunds: RefundDeps) -> list[RefundView]:
    found: list[RefundView] = []
    cursor: str | None = None
    while True:
        page = await list_dead_letters(PAGE, cursor, OPERATOR, refunds)
        found += page.data
        cursor = page.next_cursor
        if cursor is None:
            return found


def register(main: click.Group, resolved_settings: Callable[[], contextlib.AbstractContextManager[Settings]]) -> None:
    """Add the `jobs` group to the command line."""

    @main.group()
    def jobs() -> None:
        """The refund job queue and its dead letters."""

    @jobs.command("status")
    def jobs_status() -> None:
        """Jobs queued, in flight, waiting to retry, and dead letters."""
        with resolved_settings() as settings:
            status = asyncio.run(_status(settings))
        for name, value in msgspec.structs.asdict(status).items():
            click.echo(f"{name.replace('_', ' ')}\t{value}")

    @jobs.group("dead-letters")
    def dead_letters() -> None:
        """Refunds that failed for good (durable in PostgreSQL)."""

    @dead_letters.command("list")
    def dead_letters_list() -> None:
        """Every dead letter, one JSON object a line, the longest waiting first."""
        with resolved_settings() as settings:
            for refund in _with_refunds(settings, _all_dead_letters):
                click.echo(_line(refund))

    @dead_letters.command("retry")
    @click.argument("refund_id", type=click.UUID)
    def dead_letters_retry(refund_id: UUID) -> None:
        """Send a dead letter back for a new series of attempts."""
        with resolved_settings() as settings:
            refund = _with_refunds(settings, lambda refunds: retry_dead_letter(refund_id, OPERATOR, refunds))
        click.echo(_line(refund))

    @dead_letters.command("purge")
    def dead_letters_purge() -> None:
        """Take every dead letter off the queue (each stays FAILED in its history)."""

        async def purge(refunds: RefundDeps) -> int:
            purged = 0
            for refund in await _all_dead_letters(refunds):
                try:
                    await dismiss_dead_letter(refund.id, OPERATOR, refunds)
                except RefundNotFailed:
                    continue  # retried meanwhile: no longer a dead letter
                purged += 1
            return purged

        with resolved_settings() as settings:
            click.echo(f"purged {_with_refunds(settings, purge)} dead letter(s)")


async def _status(settings: Settings) -> "JobStatus":
    from infrastructure.bootstrap import open_runtime
    from infrastructure.redis.job_queue import RefundStreamBroker
    from infrastructure.redis.job_status import job_status

    broker = RefundStreamBroker(settings)
    try:
        async with open_runtime(settings) as runtime:
            return await job_status(runtime.pool, broker, runtime.deps.refunds.clock.now())
    finally:
        await broker.shutdown()

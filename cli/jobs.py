"""`taskflow jobs`: the refund job queue and its dead letters, for operators."""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import click
import msgspec

from application.errors import NotFound, ServiceUnavailable
from application.refunds import RefundDeps, dismiss_dead_letter, list_dead_letters, retry_dead_letter
from application.views import RefundView
from cli.runtime import OPERATOR, resolved_settings, with_runtime
from domain.errors import RefundNotFailed, RefundNotFound
from infrastructure.settings import Settings

if TYPE_CHECKING:
    from infrastructure.bootstrap import Runtime
    from infrastructure.redis.job_status import JobStatus

T = TypeVar("T")

PAGE = 100


@click.group()
def jobs() -> None:
    """The refund job queue and its dead letters."""


@jobs.command("status")
def jobs_status() -> None:
    """Jobs queued, in flight, waiting to retry, and dead letters."""
    with resolved_settings() as settings:
        status = with_runtime(settings, lambda runtime: _status(runtime, settings))
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
    with resolved_settings() as settings:
        click.echo(f"purged {_with_refunds(settings, _purge)} dead letter(s)")


def _with_refunds(settings: Settings, work: Callable[[RefundDeps], Awaitable[T]]) -> T:
    """`work` on the refunds' dependencies, its refusals in an operator's words."""
    try:
        return with_runtime(settings, lambda runtime: work(runtime.deps.refunds))
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


async def _purge(refunds: RefundDeps) -> int:
    purged = 0
    for refund in await _all_dead_letters(refunds):
        try:
            await dismiss_dead_letter(refund.id, OPERATOR, refunds)
        except RefundNotFailed:
            continue  # retried meanwhile: no longer a dead letter
        purged += 1
    return purged


async def _status(runtime: "Runtime", settings: Settings) -> "JobStatus":
    # Imported here: only this command loads taskiq.
    from infrastructure.redis.job_queue import RefundStreamBroker
    from infrastructure.redis.job_status import job_status

    broker = RefundStreamBroker(settings)
    try:
        return await job_status(runtime.pool, broker, runtime.deps.refunds.clock.now())
    finally:
        await broker.shutdown()

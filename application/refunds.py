"""Refund handlers: request one, read one, and the dead-letter queue (FAILED refunds) for admins."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec

from application.context import RequestContext
from application.cursors import Cursor, decode_cursor, page_of
from application.errors import Forbidden, NotFound
from application.folds import refund_state, refund_view
from application.idempotency import IdempotencyKey, once
from application.policies import refund_request
from application.ports import Clock, RefundReadModel, TaskCacheInvalidation, UnitOfWorkFactory
from application.records import StreamAppend
from application.tasks import TaskDeps, acting_user, owned_state, with_retries
from application.views import RefundView
from domain import refunds, tasks

DEAD_LETTERS_WALK = "dead-letters"


@dataclass(frozen=True, slots=True)
class RefundDeps:
    """What reading a refund and managing the dead letters use."""

    uow: UnitOfWorkFactory
    clock: Clock
    cache: TaskCacheInvalidation  # a refund shows on its task
    refunds: RefundReadModel
    cursor_secret: bytes  # signs the dead letters' page cursors


class DeadLetterPage(msgspec.Struct, frozen=True, rename="camel"):
    data: list[RefundView]
    next_cursor: str | None


async def request_refund(
    task_id: UUID, ctx: RequestContext, deps: TaskDeps, idempotency: IdempotencyKey | None = None
) -> RefundView:
    """Ask for the task's fee back; a background job pays it (refused if there is no fee or a refund already)."""
    actor = acting_user(ctx)
    owners: list[UUID] = []

    async def attempt() -> RefundView:
        async with deps.uow() as uow:

            async def work() -> RefundView:
                records = await uow.events.load(task_id)
                state = owned_state(records, actor)
                task_events, refund = refund_request(task_id, state, deps.ids.new())
                recorded = await uow.events.append(
                    [StreamAppend(task_id, tasks.STREAM_TYPE, records[-1].version, list(task_events)), refund],
                    ctx.metadata(),
                    deps.clock.now(),
                )
                owners[:] = [state.owner_id] if state.owner_id else []
                view = refund_view([r for r in recorded if r.stream_id == refund.stream_id])
                assert view is not None, "a requested refund exists"
                return view

            return await once(uow, actor, idempotency, RefundView, deps.clock, work)

    view = await with_retries(False, attempt)
    await deps.cache.tasks_changed([task_id], owners)
    return view


async def get_refund(refund_id: UUID, ctx: RequestContext, deps: RefundDeps) -> RefundView:
    """One refund, for the owner of its task or an admin."""
    actor = acting_user(ctx)
    found = await deps.refunds.get_with_owner(refund_id)
    if found is None or not actor.may_act_on(found[1]):
        raise NotFound("refund")
    return found[0]


def _require_admin(ctx: RequestContext) -> None:
    if not acting_user(ctx).is_admin:
        raise Forbidden("only an admin may manage the dead-letter queue")


async def list_dead_letters(limit: int, cursor: str | None, ctx: RequestContext, deps: RefundDeps) -> DeadLetterPage:
    """FAILED refunds waiting for an operator, the longest waiting first (admins only)."""
    _require_admin(ctx)
    now = deps.clock.now()
    position = decode_cursor(deps.cursor_secret, cursor, DEAD_LETTERS_WALK, now) if cursor else None
    began_at = position.began_at if position else now
    after = (position.key, position.id) if position and isinstance(position.key, datetime) else None
    rows = await deps.refunds.dead_letters(limit + 1, after)
    page, next_cursor = page_of(
        deps.cursor_secret,
        rows,
        limit,
        lambda refund: Cursor(DEAD_LETTERS_WALK, refund.completed_at, refund.id, began_at),
    )
    return DeadLetterPage(data=page, next_cursor=next_cursor)


async def retry_dead_letter(refund_id: UUID, ctx: RequestContext, deps: RefundDeps) -> RefundView:
    """Send a dead letter back: a new series of attempts starts (admins only)."""
    _require_admin(ctx)
    return await _decide(refund_id, refunds.RetryRefund(), ctx, deps)


async def dismiss_dead_letter(refund_id: UUID, ctx: RequestContext, deps: RefundDeps) -> RefundView:
    """Take a dead letter off the queue; the refund stays FAILED (admins only)."""
    _require_admin(ctx)
    return await _decide(refund_id, refunds.DismissRefund(), ctx, deps)


async def _decide(refund_id: UUID, command: refunds.RefundCommand, ctx: RequestContext, deps: RefundDeps) -> RefundView:
    async def attempt() -> tuple[RefundView, refunds.Refund]:
        async with deps.uow() as uow:
            records = await uow.events.load(refund_id)
            state = refund_state(records)
            if not state.requested:
                raise NotFound("refund")
            records += await uow.events.append(
                [
                    StreamAppend(
                        refund_id, refunds.STREAM_TYPE, records[-1].version, list(refunds.decide(command, state))
                    )
                ],
                ctx.metadata(),
                deps.clock.now(),
            )
        view = refund_view(records)
        assert view is not None, "the refund exists"
        return view, state

    view, state = await with_retries(False, attempt)
    if state.owner_id is not None:
        await deps.cache.tasks_changed([view.task_id], [state.owner_id])
    return view

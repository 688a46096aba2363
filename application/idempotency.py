"""Idempotency keys: a keyed repeat within 24 hours gets the first response again and does nothing else."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import msgspec

from application.context import Actor
from application.errors import Conflict
from application.ports import Clock, UnitOfWork

RETENTION = timedelta(hours=24)

T = TypeVar("T")


class IdempotencyKey(msgspec.Struct, frozen=True):
    key: str
    fingerprint: bytes  # of the request: what a repeat must match


class KeyReused(Conflict):
    """The idempotency key was used before with another request."""


async def once(
    uow: UnitOfWork,
    actor: Actor,
    idempotency: IdempotencyKey | None,
    result_type: type[T],
    clock: Clock,
    work: Callable[[], Awaitable[T]],
) -> T:
    """Run `work` in `uow`, unless the key already holds a response, which is returned instead. The key is claimed
    and the response stored in the command's own unit of work: a retry after a crash finds the committed response
    or runs the command afresh, never both; the same key with another body is KeyReused."""
    if idempotency is None:
        return await work()
    now = clock.now()
    stored = await uow.idempotency.claim(actor.user_id, idempotency.key, idempotency.fingerprint, now, now - RETENTION)
    if stored is not None:
        fingerprint, response = stored
        if fingerprint != idempotency.fingerprint:
            raise KeyReused()
        return msgspec.json.decode(response, type=result_type)
    result = await work()
    await uow.idempotency.complete(actor.user_id, idempotency.key, msgspec.json.encode(result))
    return result

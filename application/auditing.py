"""The auditors' feed: the whole log in commit order, paged with an opaque cursor (admins only)."""

import base64
import hmac
from collections.abc import AsyncIterator
from uuid import UUID

import msgspec

from application.context import RequestContext
from application.cursors import sign
from application.errors import Forbidden, InvalidInput
from application.services import Services
from application.tasks import acting_user
from application.views import EventView, ProjectionState, event_view

MAX_PAGE = 1000
STREAM_BATCH = 1000


class LogPosition(msgspec.Struct, array_like=True, frozen=True):
    transaction_id: str
    position: int


class ListEvents(msgspec.Struct, frozen=True):
    after: str | None = None
    limit: int = 100
    types: tuple[str, ...] = ()
    stream_id: UUID | None = None


class EventsPage(msgspec.Struct, frozen=True, rename="camel"):
    data: list[EventView]
    next_after: str | None


def encode_position(secret: bytes, position: LogPosition) -> str:
    payload = msgspec.json.encode(position)
    raw = base64.urlsafe_b64encode(payload + sign(secret, payload)).rstrip(b"=")
    return raw.decode()


def decode_position(secret: bytes, text: str) -> LogPosition:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        payload, signature = raw[:-16], raw[-16:]
        if not hmac.compare_digest(signature, sign(secret, payload)):
            raise ValueError("bad signature")
        return msgspec.json.decode(payload, type=LogPosition)
    except (ValueError, msgspec.ValidationError) as exc:
        raise InvalidInput("after", "is not a position this service issued") from exc


def _start(query: ListEvents, services: Services) -> tuple[str, int] | None:
    if query.after is None:
        return None
    position = decode_position(services.cursor_secret, query.after)
    return position.transaction_id, position.position


async def list_events(query: ListEvents, ctx: RequestContext, services: Services) -> EventsPage:
    """One page of the log after `after`; `nextAfter` resumes exactly there (the same value when nothing is new)."""
    if not acting_user(ctx).is_admin:
        raise Forbidden("the event log is for admins")
    start = _start(query, services)
    found = await services.log.page(start, min(query.limit, MAX_PAGE), query.types, query.stream_id)
    if found:
        xid, last = found[-1]
        next_after: str | None = encode_position(services.cursor_secret, LogPosition(xid, last.position))
    else:
        next_after = query.after
    return EventsPage(data=[event_view(record) for _, record in found], next_after=next_after)


def stream_events(query: ListEvents, ctx: RequestContext, services: Services) -> AsyncIterator[EventView]:
    """Every event after `after` to the end of the committed log, in commit order (admins only).

    Checked before the first byte is sent: a refusal is a 403 or 400, not a cut-off stream."""
    if not acting_user(ctx).is_admin:
        raise Forbidden("the event log is for admins")
    _start(query, services)
    return (event async for _, event in export_events(query, services))


async def export_events(query: ListEvents, services: Services) -> AsyncIterator[tuple[str, EventView]]:
    """The operator's export: no actor, the same order as the API; each event with the cursor just after it."""
    position = _start(query, services)
    while True:
        found = await services.log.page(position, STREAM_BATCH, query.types, query.stream_id)
        for xid, record in found:
            yield encode_position(services.cursor_secret, LogPosition(xid, record.position)), event_view(record)
        if len(found) < STREAM_BATCH:
            return
        position = (found[-1][0], found[-1][1].position)


async def projection_states(ctx: RequestContext, services: Services) -> list[ProjectionState]:
    """Where each projection stands (admins only)."""
    if not acting_user(ctx).is_admin:
        raise Forbidden("the projections are for admins")
    return await services.projections.states()

"""The auditors' feed: the whole log in commit order or newest first, paged with opaque cursors (admins only)."""

import base64
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import msgspec

from application.context import RequestContext
from application.cursors import sign
from application.errors import Forbidden, InvalidInput
from application.ports import EventLog, ProjectionMonitor, UnitOfWorkFactory
from application.records import RecordedEvent
from application.tasks import acting_user
from application.views import EventView, LogQuery, ProjectionState, event_view

MAX_PAGE = 1000
STREAM_BATCH = 1000


@dataclass(frozen=True, slots=True)
class AuditDeps:
    """What the auditors' reads use: the log, one stream's history, where the projections stand."""

    uow: UnitOfWorkFactory  # one stream, in version order
    log: EventLog
    projections: ProjectionMonitor
    cursor_secret: bytes  # signs the log's positions


class LogPosition(msgspec.Struct, array_like=True, frozen=True):
    transaction_id: str
    position: int


class ListEvents(msgspec.Struct, frozen=True):
    after: str | None = None
    before: str | None = None
    newest_first: bool = False
    limit: int = 100
    types: tuple[str, ...] = ()
    stream_types: tuple[str, ...] = ()
    stream_id: UUID | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


class EventsPage(msgspec.Struct, frozen=True, rename="camel"):
    """`nextAfter` continues towards newer events (the newest of the page), `nextBefore` towards older ones (its
    oldest); on an empty page each is the cursor it was asked with."""

    data: list[EventView]
    next_after: str | None
    next_before: str | None


def encode_position(secret: bytes, position: LogPosition) -> str:
    payload = msgspec.json.encode(position)
    raw = base64.urlsafe_b64encode(payload + sign(secret, payload)).rstrip(b"=")
    return raw.decode()


def decode_position(secret: bytes, text: str, field: str = "after") -> LogPosition:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        payload, signature = raw[:-16], raw[-16:]
        if not hmac.compare_digest(signature, sign(secret, payload)):
            raise ValueError("bad signature")
        return msgspec.json.decode(payload, type=LogPosition)
    except (ValueError, msgspec.ValidationError) as exc:
        raise InvalidInput(field, "is not a position this service issued") from exc


def _position(deps: AuditDeps, text: str | None, field: str) -> tuple[str, int] | None:
    if text is None:
        return None
    position = decode_position(deps.cursor_secret, text, field)
    return position.transaction_id, position.position


def _log_query(query: ListEvents, deps: AuditDeps, limit: int) -> LogQuery:
    """The query as the log reads it: cursors checked and decoded, filters as given."""
    if query.causation_id is not None and query.correlation_id is None:
        raise InvalidInput("causationId", "narrows a correlation: give correlationId too")
    return LogQuery(
        limit=limit,
        after=_position(deps, query.after, "after"),
        before=_position(deps, query.before, "before"),
        newest_first=query.newest_first,
        types=query.types,
        stream_types=query.stream_types,
        stream_id=query.stream_id,
        correlation_id=query.correlation_id,
        causation_id=query.causation_id,
    )


def require_admin(ctx: RequestContext) -> None:
    """Only admins read the log."""
    if not acting_user(ctx).is_admin:
        raise Forbidden("the event log is for admins")


async def list_events(query: ListEvents, ctx: RequestContext, deps: AuditDeps) -> EventsPage:
    """One page of the log between `after` and `before`, oldest or newest first."""
    require_admin(ctx)
    found = await deps.log.page(_log_query(query, deps, min(query.limit, MAX_PAGE)))
    if not found:
        return EventsPage(data=[], next_after=query.after, next_before=query.before)
    newest, oldest = (found[0], found[-1]) if query.newest_first else (found[-1], found[0])
    return EventsPage(
        data=[event_view(record) for _, record in found],
        next_after=_cursor(deps, newest),
        next_before=_cursor(deps, oldest),
    )


def _cursor(deps: AuditDeps, found: tuple[str, RecordedEvent]) -> str:
    return encode_position(deps.cursor_secret, LogPosition(found[0], found[1].position))


def stream_events(query: ListEvents, ctx: RequestContext, deps: AuditDeps) -> AsyncIterator[EventView]:
    """Every event from `after` (or `before`, newest first) to the end of the committed log (admins only).

    Checked before the first byte is sent: a refusal is a 403 or 400, not a cut-off stream."""
    require_admin(ctx)
    _log_query(query, deps, STREAM_BATCH)
    return (event async for _, event in export_events(query, deps))


async def export_events(query: ListEvents, deps: AuditDeps) -> AsyncIterator[tuple[str, EventView]]:
    """The operator's export: no actor, the same order as the API; each event with the cursor just past it."""
    batch = _log_query(query, deps, STREAM_BATCH)
    while True:
        found = await deps.log.page(batch)
        for xid, record in found:
            yield encode_position(deps.cursor_secret, LogPosition(xid, record.position)), event_view(record)
        if len(found) < STREAM_BATCH:
            return
        last = (found[-1][0], found[-1][1].position)
        batch = (
            msgspec.structs.replace(batch, before=last)
            if batch.newest_first
            else msgspec.structs.replace(batch, after=last)
        )


async def projection_states(ctx: RequestContext, deps: AuditDeps) -> list[ProjectionState]:
    """Where each projection stands (admins only)."""
    if not acting_user(ctx).is_admin:
        raise Forbidden("the projections are for admins")
    return await deps.projections.states()

"""One stream for auditors: each event with the state before and after it, and its hash chain (admins only)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from application.auditing import AuditDeps, require_admin
from application.context import RequestContext
from application.errors import InvalidInput, NotFound
from application.records import RecordedEvent
from application.streams import AGGREGATES, Stream, advance
from application.views import EventView, StreamVerification, event_view
from domain.events import UnknownEventType

State = dict[str, Any]


class StreamQuery(msgspec.Struct, frozen=True):
    stream_id: UUID
    after: int = 0  # the timeline's page: versions after this one
    limit: int = 50
    version: int | None = None  # as of this version, or
    as_of: datetime | None = None  # as of this moment; neither: as it is now


class StateChange(msgspec.Struct, frozen=True):
    field: str
    before: Any
    after: Any


class StreamEvent(EventView, frozen=True, rename="camel"):
    """An event of the stream, with the state its fold gave before and after it (null: not foldable)."""

    before: State | None
    after: State | None
    changes: list[StateChange]


class StreamHistory(msgspec.Struct, frozen=True, rename="camel"):
    """The stream as of `version`; `events` is a page of its timeline up to then, `nextAfter` the next page's start."""

    stream_id: UUID
    stream_type: str
    version: int
    latest_version: int
    recorded_at: datetime
    state: State | None  # null when this code has no fold for the stream (an unknown type or event shape)
    events: list[StreamEvent]
    next_after: int | None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def state_of(stream: Stream[Any] | None, stream_type: str) -> State | None:
    """The fold's state as JSON (camelCase names); before the first event, the aggregate's initial state."""
    if stream is None:
        aggregate = AGGREGATES.get(stream_type)
        return None if aggregate is None else _as_json(aggregate.initial)
    return _as_json(stream.state)


def _as_json(state: Any) -> State:
    return {_camel(name): value for name, value in msgspec.to_builtins(state).items()}


def changes(before: State | None, after: State | None) -> list[StateChange]:
    """The fields whose values differ, in the state's order."""
    if before is None or after is None:
        return []
    names = list(after) + [name for name in before if name not in after]
    return [StateChange(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]


def folded(records: Sequence[RecordedEvent]) -> list[Stream[Any] | None]:
    """The stream after each record, by the aggregate's own fold (the deciders' and read models': the console never
    folds a second way); None from a record this code cannot fold on (a stream type it has no aggregate for, an
    unknown event type, a shape no upcaster reads)."""
    streams: list[Stream[Any] | None] = []
    stream: Stream[Any] | None = None
    foldable = bool(records) and records[0].stream_type in AGGREGATES
    for record in records:
        if foldable:
            try:
                stream = advance(stream, record, record.event())
            except (UnknownEventType, KeyError, msgspec.ValidationError):
                foldable, stream = False, None
        streams.append(stream)
    return streams


def _as_of(records: list[RecordedEvent], query: StreamQuery) -> list[RecordedEvent]:
    if query.version is not None and query.as_of is not None:
        raise InvalidInput("asOf", "give either version or asOf, not both")
    if query.version is not None:
        cut = [record for record in records if record.version <= query.version]
        if not cut or cut[-1].version != query.version:
            raise NotFound("stream version")
        return cut
    if query.as_of is not None:
        cut = [record for record in records if record.recorded_at <= query.as_of]
        if not cut:
            raise NotFound("stream at that moment")
        return cut
    return records


async def stream_history(query: StreamQuery, ctx: RequestContext, deps: AuditDeps) -> StreamHistory:
    """The stream's timeline with what each event changed, and its state as of a version or a moment."""
    require_admin(ctx)
    async with deps.uow() as uow:
        records = await uow.events.load(query.stream_id)
    if not records:
        raise NotFound("stream")
    cut = _as_of(records, query)
    streams = folded(cut)
    stream_type = cut[0].stream_type
    timeline: list[StreamEvent] = []
    for index, record in enumerate(cut):
        if record.version <= query.after or len(timeline) == query.limit:
            continue
        before = state_of(streams[index - 1] if index else None, stream_type) if streams[index] else None
        after = state_of(streams[index], stream_type) if streams[index] else None
        timeline.append(_stream_event(event_view(record), before, after))
    more = bool(timeline) and timeline[-1].version < cut[-1].version
    last = streams[-1]
    return StreamHistory(
        stream_id=query.stream_id,
        stream_type=stream_type,
        version=cut[-1].version,
        latest_version=records[-1].version,
        recorded_at=cut[-1].recorded_at,
        state=state_of(last, stream_type) if last else None,
        events=timeline,
        next_after=timeline[-1].version if more else None,
    )


def _stream_event(view: EventView, before: State | None, after: State | None) -> StreamEvent:
    fields = msgspec.structs.asdict(view)
    return StreamEvent(**fields, before=before, after=after, changes=changes(before, after))


async def verify_stream(stream_id: UUID, ctx: RequestContext, deps: AuditDeps) -> StreamVerification:
    """Whether the stream's versions run from 1 without a gap and its hash chain holds (admins only)."""
    require_admin(ctx)
    verification = await deps.log.verify_stream(stream_id)
    if verification is None:
        raise NotFound("stream")
    return verification


async def events_of_stream(stream_id: UUID, ctx: RequestContext, deps: AuditDeps) -> list[EventView]:
    """Every event of one stream, of any type, in version order (admins only); none for an unknown stream."""
    require_admin(ctx)
    async with deps.uow() as uow:
        records = await uow.events.load(stream_id)
    return [event_view(record) for record in records]

"""A stream folded into its aggregate's state: one fold per stream type, for deciders and read models alike."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from application.records import RecordedEvent
from domain import refunds, tasks, users
from domain.deciders import Evolve
from domain.events import DomainEvent

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Aggregate(Generic[S]):
    """How a stream type's events fold into its decider's state."""

    initial: S
    evolve: Evolve[S, Any]


AGGREGATES: dict[str, Aggregate[Any]] = {
    tasks.STREAM_TYPE: Aggregate(tasks.INITIAL, tasks.evolve),
    users.STREAM_TYPE: Aggregate(users.INITIAL, users.evolve),
    refunds.STREAM_TYPE: Aggregate(refunds.INITIAL, refunds.evolve),
}


@dataclass(frozen=True, slots=True)
class Stream(Generic[S]):
    """A stream as of one of its versions: its aggregate's state and the envelope facts read models show."""

    id: UUID
    type: str
    state: S
    version: int
    created_at: datetime  # when its first event was recorded
    updated_at: datetime  # when its latest event was recorded


def advance(stream: Stream[Any] | None, record: RecordedEvent, event: DomainEvent) -> Stream[Any]:
    """The stream after one more of its events (`event`: the record's event, already upcast)."""
    aggregate = AGGREGATES[record.stream_type]
    if stream is None:
        return Stream(
            record.stream_id,
            record.stream_type,
            aggregate.evolve(aggregate.initial, event, record.recorded_at),
            record.version,
            record.recorded_at,
            record.recorded_at,
        )
    state = aggregate.evolve(stream.state, event, record.recorded_at)
    return Stream(stream.id, stream.type, state, record.version, stream.created_at, record.recorded_at)


def fold(records: Iterable[RecordedEvent], stream: Stream[Any] | None = None) -> Stream[Any] | None:
    """The stream after `records` (one stream's, in version order), from `stream` (None: from its start)."""
    iterator = iter(records)
    first = next(iterator, None)
    if first is None:
        return stream
    stream = advance(stream, first, first.event())
    # The state alone, event by event (no envelope per event: a rebuild folds millions).
    evolve, state, last = AGGREGATES[first.stream_type].evolve, stream.state, first
    for record in iterator:
        state, last = evolve(state, record.event(), record.recorded_at), record
    return Stream(stream.id, stream.type, state, last.version, stream.created_at, last.recorded_at)


def fold_of_type(records: Sequence[RecordedEvent], stream_type: str) -> Stream[Any] | None:
    """The stream after `records` if it is a `stream_type` stream; None for no events or a stream of another type
    (ids are guessable: a refund's id names no task)."""
    if any(record.stream_type != stream_type for record in records):
        return None
    return fold(records)

"""The kinds of projection, and what a run of events does to each: the one computation every writer applies."""

import enum
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec

from application.records import RecordedEvent
from application.streams import Stream, advance
from domain.events import DomainEvent

R = TypeVar("R", bound=msgspec.Struct)


@functools.cache
def _columns(table: type[msgspec.Struct]) -> tuple[str, ...]:
    return tuple(f.name for f in msgspec.structs.fields(table))


class Mode(enum.StrEnum):
    INLINE = "inline"  # written with the command's own events: its readers read their own writes
    FOLLOWER = "follower"  # applied by a log follower, in commit order, a moment after the commit


# A follower of the whole log, whatever the stream (no table projection reads it so: they fold streams).
EVERY_STREAM: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Projection:
    name: str  # also the name of its table, if it keeps one
    stream_types: frozenset[str]  # the streams it reads (EVERY_STREAM: all of the log)
    mode: Mode
    process: str = "api"  # where a follower runs: the projector or the scheduler ("api": inline, every writer)


@dataclass(frozen=True, kw_only=True)
class Table(Projection, Generic[R]):
    """A projection that keeps a table: `table` is its row type (fields are columns), `key` its key columns."""

    table: type[R]
    key: tuple[str, ...]  # its first columns

    def __post_init__(self) -> None:
        if self.columns[: len(self.key)] != self.key:
            raise ValueError(f"{self.name}: the key columns {self.key} must come first in {self.table.__name__}")

    @property
    def columns(self) -> tuple[str, ...]:
        return _columns(self.table)

    def key_of(self, row: R) -> tuple[Any, ...]:
        return tuple(getattr(row, name) for name in self.key)


@dataclass(frozen=True, kw_only=True)
class Rows(Table[R]):
    """A row per stream: the one its state gives, or none. `versioned`: a change ends the row's version (kept for
    readers of older snapshots) and adds the next, instead of replacing it."""

    row: Callable[[Stream[Any]], R | None]
    versioned: bool = False


@dataclass(frozen=True, kw_only=True)
class Totals(Table[R]):
    """Counts summed over streams: each stream adds what its state counts, so a change moves the totals by the
    difference between the stream's counts after it and before."""

    counts: Callable[[Stream[Any]], R | None]


@dataclass(frozen=True, kw_only=True)
class Tally(Table[R]):
    """Counts summed over events: each event adds what it counts (given its stream before and after it)."""

    counts: Callable[[Stream[Any] | None, Stream[Any], DomainEvent], Iterable[R]]


@dataclass(frozen=True, kw_only=True)
class Reaction(Projection):
    """A follower that acts on events (queues jobs, invalidates caches, ...) instead of keeping a table here; its
    effect is an adapter's, bound by name. `needs_state`: it is given each event's stream, folded."""

    needs_state: bool = True


@dataclass
class RowChanges:
    """What a run of events does to a Rows table."""

    written: list[Any] = field(default_factory=list)  # rows to write (a versioned table: their new versions)
    removed: list[tuple[Any, ...]] = field(default_factory=list)  # keys of rows no stream gives any more
    ended: list[tuple[UUID, int]] = field(default_factory=list)  # a versioned table: (id, version) superseded


@dataclass
class CountChanges:
    """What a run of events adds to a Totals or Tally table: one row of increments a key, in key order."""

    added: list[Any] = field(default_factory=list)


Changes = dict[str, RowChanges | CountChanges]


class Sums:
    """Increments by key, for one Totals or Tally table (whose key columns come first)."""

    def __init__(self, projection: Table[Any]) -> None:
        self._table = projection.table
        self._width = len(projection.key)
        self._sums: dict[tuple[Any, ...], list[int]] = {}

    def add(self, row: Any, sign: int = 1) -> None:
        values = msgspec.structs.astuple(row)
        key, counts = values[: self._width], values[self._width :]
        sums = self._sums.get(key)
        if sums is None:
            self._sums[key] = [sign * count for count in counts]
        else:
            for index, count in enumerate(counts):
                sums[index] += sign * count

    def changes(self) -> CountChanges:
        table = self._table
        return CountChanges([table(*key, *sums) for key, sums in sorted(self._sums.items()) if any(sums)])


def changes(
    projections: Sequence[Projection],
    before: Mapping[UUID, Stream[Any] | None],
    events: Sequence[tuple[RecordedEvent, DomainEvent]],
) -> Changes:
    """What `events` (in commit order; their streams were `before` them, None: new) do to each table projection: the
    inline append, the log followers, the rebuild's catch-up and the in-memory fakes all apply this result."""
    after: dict[UUID, Stream[Any]] = {}
    tallies = {t.name: (t, Sums(t)) for t in projections if isinstance(t, Tally)}
    read = frozenset().union(*(p.stream_types for p in projections))
    for record, event in events:
        if record.stream_type not in read:
            continue  # a stream no read model reads (any type may be appended)
        prior = after.get(record.stream_id) or before.get(record.stream_id)
        now = after[record.stream_id] = advance(prior, record, event)
        for tally, sums in tallies.values():
            if record.stream_type in tally.stream_types:
                for row in tally.counts(prior, now, event):
                    sums.add(row)
    found: Changes = {name: sums.changes() for name, (_, sums) in tallies.items()}
    for projection in projections:
        if isinstance(projection, Rows):
            found[projection.name] = _row_changes(projection, before, after)
        elif isinstance(projection, Totals):
            found[projection.name] = _total_changes(projection, before, after)
    return found


def _row_changes(
    projection: Rows[Any], before: Mapping[UUID, Stream[Any] | None], after: Mapping[UUID, Stream[Any]]
) -> RowChanges:
    found = RowChanges()
    for stream_id, now in after.items():
        if now.type not in projection.stream_types:
            continue
        prior = before.get(stream_id)
        old = projection.row(prior) if prior is not None else None
        new = projection.row(now)
        if old == new:
            continue
        if projection.versioned:
            if old is not None:
                found.ended.append((stream_id, old.version))
            if new is not None:
                found.written.append(new)
        elif new is not None:
            found.written.append(new)
        elif old is not None:
            found.removed.append(projection.key_of(old))
    return found


def _total_changes(
    projection: Totals[Any], before: Mapping[UUID, Stream[Any] | None], after: Mapping[UUID, Stream[Any]]
) -> CountChanges:
    sums = Sums(projection)
    for stream_id, now in after.items():
        if now.type not in projection.stream_types:
            continue
        prior = before.get(stream_id)
        if prior is not None and (old := projection.counts(prior)) is not None:
            sums.add(old, -1)
        if (new := projection.counts(now)) is not None:
            sums.add(new)
    return sums.changes()

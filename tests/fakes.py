"""In-memory adapters with the same contracts as the PostgreSQL ones, for fast unit tests of the handlers (test
fakes: the production package does not ship them)."""

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import msgspec

from application.context import AccessClaims, RefreshGrant, RefreshToken
from application.errors import ConcurrencyError, EmailTaken
from application.folds import view_of_refund, view_of_task
from application.projections.kinds import CountChanges, Mode, RowChanges, Table, changes
from application.projections.registry import (
    PROJECTIONS,
    REFUNDS_VIEW,
    TASK_ACTIVITY,
    TASK_COUNTERS,
    TASK_DEADLINES,
    TASKS_VIEW,
    USERS_VIEW,
)
from application.records import EventMetadata, RecordedEvent, StreamAppend
from application.streams import fold
from application.views import (
    ActivityDay,
    ActivityReport,
    Credential,
    LogQuery,
    ProjectionState,
    RefundView,
    StreamVerification,
    TaskListing,
    TaskRows,
    TaskStats,
    TaskView,
    UserView,
    sort_key,
)
from domain.refunds import RefundStatus
from infrastructure.postgres.event_hash import new_records
from infrastructure.postgres.log_audit import verify_stream

# Where a task without a due date sorts: after every date, as 'infinity' does in PostgreSQL.
_LAST = datetime.max.replace(tzinfo=UTC)


class MemoryLog:
    """The committed state every in-memory adapter shares: the log, credentials, and the read tables, which the
    registry's projections keep (inline and followers alike, at each commit: here every projection is current)."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.streams: dict[UUID, list[RecordedEvent]] = {}
        self.credentials: dict[str, tuple[UUID, str]] = {}
        self.tables: dict[str, dict[tuple[Any, ...], Any]] = {p.name: {} for p in PROJECTIONS if isinstance(p, Table)}
        self.locks: set[UUID] = set()
        self.refresh_tokens: dict[bytes, RefreshToken] = {}
        self.revoked_access: dict[str, datetime] = {}
        self.idempotency: dict[tuple[UUID, str], tuple[bytes, bytes, datetime]] = {}
        self._positions = itertools.count(1)

    def next_position(self) -> int:
        """Like an identity column: increasing, and a rolled-back append leaves a gap."""
        return next(self._positions)

    def commit(
        self,
        records: Sequence[RecordedEvent],
        credentials: dict[str, tuple[UUID, str]],
        rehashes: dict[UUID, str],
    ) -> None:
        heads = {r.stream_id: len(self.streams.get(r.stream_id, [])) for r in records}
        for record in records:
            if heads[record.stream_id] + 1 != record.version:
                raise ConcurrencyError()
            heads[record.stream_id] = record.version
        if any(email in self.credentials for email in credentials):
            raise EmailTaken()
        self.credentials.update(credentials)
        for email, (user_id, _) in list(self.credentials.items()):
            if user_id in rehashes:
                self.credentials[email] = (user_id, rehashes[user_id])
        before = {r.stream_id: fold(self.streams.get(r.stream_id, [])) for r in records}
        records = [msgspec.structs.replace(r, position=self.next_position()) for r in records]
        for record in records:
            self.events.append(record)
            self.streams.setdefault(record.stream_id, []).append(record)
        tables = [p for p in PROJECTIONS if isinstance(p, Table)]
        for name, change in changes(tables, before, [(r, r.event()) for r in records]).items():
            self._apply(next(p for p in tables if p.name == name), change)

    def _apply(self, projection: Table[Any], change: RowChanges | CountChanges) -> None:
        table = self.tables[projection.name]
        if isinstance(change, CountChanges):
            values = [name for name in projection.columns if name not in projection.key]
            for row in change.added:
                key = projection.key_of(row)
                old = table.get(key)
                table[key] = (
                    row
                    if old is None
                    else msgspec.structs.replace(
                        old, **{name: getattr(old, name) + getattr(row, name) for name in values}
                    )
                )
            return
        for stream_id, _ in change.ended:
            table.pop((stream_id,), None)  # only current versions here: no walk reads older snapshots
        for key in change.removed:
            table.pop(key, None)
        for row in change.written:
            table[projection.key_of(row)] = row

    def rows(self, name: str) -> list[Any]:
        return list(self.tables[name].values())

    def refund_of(self, task_id: UUID) -> RefundView | None:
        found = next((row for row in self.rows(REFUNDS_VIEW.name) if row.task_id == task_id), None)
        return view_of_refund(found) if found else None

    @property
    def tasks(self) -> dict[UUID, TaskView]:
        """The current tasks, as clients read them."""
        return {row.id: view_of_task(row, self.refund_of(row.id)) for row in self.rows(TASKS_VIEW.name)}

    @property
    def users(self) -> dict[UUID, UserView]:
        return {
            row.id: UserView(row.id, row.email, row.name, row.role, row.created_at) for row in self.rows("users_view")
        }


class MemoryEventStore:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log
        self.pending: list[RecordedEvent] = []

    def _head(self, stream_id: UUID) -> list[RecordedEvent]:
        return self._log.streams.get(stream_id, []) + [r for r in self.pending if r.stream_id == stream_id]

    async def append(
        self, appends: Sequence[StreamAppend], metadata: EventMetadata, recorded_at: datetime
    ) -> list[RecordedEvent]:
        heads: dict[UUID, bytes] = {}
        for append in appends:
            stream = self._head(append.stream_id)
            if len(stream) != append.expected_version:
                raise ConcurrencyError()
            if stream:
                heads[append.stream_id] = stream[-1].hash
        records = new_records(appends, heads, metadata, recorded_at)  # positions: at the commit, as in PostgreSQL
        self.pending.extend(records)
        return records

    async def load(
        self, stream_id: UUID, *, to_version: int | None = None, as_of: datetime | None = None
    ) -> list[RecordedEvent]:
        return [
            r
            for r in self._head(stream_id)
            if (to_version is None or r.version <= to_version) and (as_of is None or r.recorded_at <= as_of)
        ]

    async def load_many(self, stream_ids: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        found = {stream_id: self._head(stream_id) for stream_id in stream_ids}
        return {stream_id: records for stream_id, records in found.items() if records}


class MemoryCredentials:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log
        self.pending: dict[str, tuple[UUID, str]] = {}
        self.rehashes: dict[UUID, str] = {}

    async def save(self, user_id: UUID, email: str, password_hash: str) -> None:
        if email in self._log.credentials or email in self.pending:
            raise EmailTaken()
        self.pending[email] = (user_id, password_hash)

    async def rehash(self, user_id: UUID, password_hash: str) -> None:
        self.rehashes[user_id] = password_hash


class MemoryRefreshTokens:
    """Changes stay pending until the unit of work commits, as in a database transaction."""

    def __init__(self, log: MemoryLog) -> None:
        self._log = log
        self.pending: dict[bytes, RefreshToken] = {}
        self.denied: dict[str, datetime] = {}

    def _current(self) -> dict[bytes, RefreshToken]:
        return self._log.refresh_tokens | self.pending

    async def add(self, token: RefreshToken) -> None:
        self.pending[token.token_hash] = token

    async def lock(self, token_hash: bytes) -> RefreshGrant | None:
        token = self._current().get(token_hash)
        return RefreshGrant(token=token, user=self._log.users.get(token.user_id)) if token else None

    async def spend(self, token_hash: bytes, at: datetime) -> None:
        self.pending[token_hash] = msgspec.structs.replace(self._current()[token_hash], spent_at=at)

    async def revoke_family(self, family_id: UUID, at: datetime) -> None:
        for token_hash, token in self._current().items():
            if token.family_id == family_id and token.revoked_at is None:
                self.pending[token_hash] = msgspec.structs.replace(token, revoked_at=at)

    async def deny_access(self, user_id: UUID, jti: str, expires_at: datetime) -> None:
        self.denied[jti] = expires_at


class MemoryAccessRevocations:
    """The durable records answer at once here: the revoked tokens and the users' roles of the memory log."""

    def __init__(self, log: MemoryLog) -> None:
        self._log = log

    async def token_revoked(self, user_id: UUID, jti: str, expires_at: datetime) -> None:
        self._log.revoked_access[jti] = expires_at

    async def role_changed(self, user_id: UUID) -> None:
        return None  # the role is read from the users table on each check

    async def refuses(self, claims: AccessClaims) -> bool:
        user = self._log.tables[USERS_VIEW.name].get((claims.actor.user_id,))
        return user is None or claims.jti in self._log.revoked_access or claims.predates(user.role, user.role_since)


class MemoryIdempotencyKeys:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log
        self.pending: dict[tuple[UUID, str], tuple[bytes, bytes, datetime]] = {}

    async def claim(
        self, user_id: UUID, key: str, fingerprint: bytes, now: datetime, expired_before: datetime
    ) -> tuple[bytes, bytes] | None:
        stored = self._log.idempotency.get((user_id, key))
        if stored is not None and stored[2] >= expired_before:
            return stored[0], stored[1]
        self.pending[(user_id, key)] = (fingerprint, b"", now)
        return None

    async def complete(self, user_id: UUID, key: str, response: bytes) -> None:
        fingerprint, _, at = self.pending[(user_id, key)]
        self.pending[(user_id, key)] = (fingerprint, response, at)


class MemoryUnitOfWork:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log
        self.events = MemoryEventStore(log)
        self.credentials = MemoryCredentials(log)
        self.refresh_tokens = MemoryRefreshTokens(log)
        self.idempotency = MemoryIdempotencyKeys(log)
        self._locked: set[UUID] = set()

    async def try_lock(self, key: UUID) -> bool:
        if key in self._log.locks:
            return False
        self._log.locks.add(key)
        self._locked.add(key)
        return True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._log.locks -= self._locked
        if exc_type is None:
            self._log.commit(self.events.pending, self.credentials.pending, self.credentials.rehashes)
            self._log.refresh_tokens.update(self.refresh_tokens.pending)
            self._log.revoked_access.update(self.refresh_tokens.denied)
            self._log.idempotency.update(self.idempotency.pending)


class MemoryDueTasks:
    """task_deadlines' due rows, earliest first, held (as the log's locks) until the unit of work ends."""

    def __init__(self, log: MemoryLog, held: set[UUID]) -> None:
        self._log = log
        self._held = held

    async def take(self, now: datetime, limit: int) -> list[UUID]:
        due = sorted(
            (
                row
                for row in self._log.rows(TASK_DEADLINES.name)
                if row.due_date < now and row.id not in self._log.locks
            ),
            key=lambda row: (row.due_date, row.id),
        )[:limit]
        taken = [row.id for row in due]
        self._log.locks.update(taken)
        self._held.update(taken)
        return taken


class MemoryOverdueUnitOfWork(MemoryUnitOfWork):
    def __init__(self, log: MemoryLog) -> None:
        super().__init__(log)
        self.due_tasks = MemoryDueTasks(log, self._locked)


class MemoryTaskReadModel:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log

    async def get(self, task_id: UUID, owner_id: UUID | None = None) -> TaskView | None:
        row = self._log.tables[TASKS_VIEW.name].get((task_id,))
        if row is None or owner_id not in (None, row.owner_id):
            return None
        return view_of_task(row, self._log.refund_of(task_id))

    async def stats(self, owner_id: UUID | None) -> TaskStats:
        counts = [c for c in self._log.rows(TASK_COUNTERS.name) if owner_id is None or c.owner_id == owner_id]
        return TaskStats(
            total=sum(c.total for c in counts),
            pending=sum(c.pending for c in counts),
            in_progress=sum(c.in_progress for c in counts),
            completed=sum(c.completed for c in counts),
            high_priority=sum(c.high_priority for c in counts),
            overdue=sum(c.overdue for c in counts),
        )

    async def list(self, listing: TaskListing) -> TaskRows:
        """The same page as the SQL would give, computed in Python (no snapshots: the current state only)."""
        found = listing.filter

        def matches(task: TaskView) -> bool:
            due = task.due_date
            words = set(f"{task.title} {task.description or ''}".lower().split())
            return (
                (found.owner_id is None or task.owner_id == found.owner_id)
                and (not found.statuses or task.status in found.statuses)
                and (not found.priorities or task.priority in found.priorities)
                and (found.due_before is None or (due is not None and due < found.due_before))
                and (found.due_after is None or (due is not None and due > found.due_after))
                and (not found.overdue or task.overdue)
                and (not found.text or set(found.text.lower().split()) <= words)
            )

        def order(task: TaskView) -> tuple[Any, UUID]:
            key = sort_key(task, listing.sort)
            return (_LAST if key is None else key), task.id

        ordered = sorted(filter(matches, self._log.tasks.values()), key=order, reverse=listing.sort.descending)
        if listing.after is not None:
            key, last_id = listing.after
            position = (_LAST if key is None else key), last_id
            ordered = [t for t in ordered if (order(t) < position) == listing.sort.descending and order(t) != position]
        return TaskRows(rows=ordered[: listing.limit], snapshot=None)


class MemoryRefundReadModel:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log

    async def get(self, refund_id: UUID) -> RefundView | None:
        row = self._log.tables[REFUNDS_VIEW.name].get((refund_id,))
        return view_of_refund(row) if row is not None else None

    async def get_with_owner(self, refund_id: UUID) -> tuple[RefundView, UUID] | None:
        row = self._log.tables[REFUNDS_VIEW.name].get((refund_id,))
        return (view_of_refund(row), row.owner_id) if row is not None else None

    async def dead_letters(self, limit: int, after: tuple[datetime, UUID] | None) -> list[RefundView]:
        letters = sorted(
            (
                view_of_refund(row)
                for row in self._log.rows(REFUNDS_VIEW.name)
                if row.status is RefundStatus.FAILED and not row.dismissed
            ),
            key=lambda view: (view.completed_at or _LAST, view.id),
        )
        return [v for v in letters if after is None or (v.completed_at or _LAST, v.id) > after][:limit]


class MemoryUserReadModel:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log

    async def get(self, user_id: UUID) -> UserView | None:
        return self._log.users.get(user_id)

    async def list(self, limit: int, after: tuple[datetime, UUID] | None) -> list[UserView]:
        ordered = sorted(self._log.users.values(), key=lambda u: (u.created_at, u.id))
        return [u for u in ordered if after is None or (u.created_at, u.id) > after][:limit]

    async def credential(self, email: str) -> Credential | None:
        found = self._log.credentials.get(email)
        if found is None or found[0] not in self._log.users:
            return None
        return Credential(user_id=found[0], password_hash=found[1], role=self._log.users[found[0]].role)


class MemoryActivityReadModel:
    """The activity projection as the registry keeps it (always caught up here)."""

    def __init__(self, log: MemoryLog) -> None:
        self._log = log

    async def activity(self, owner_id: UUID | None, first: date, last: date) -> ActivityReport:
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        counted = [row for row in self._log.rows(TASK_ACTIVITY.name) if owner_id in (None, row.owner_id)]

        def total(day: date, kind: str) -> int:
            return sum(getattr(row, kind) for row in counted if row.day == day)

        return ActivityReport(
            data=[
                ActivityDay(day, total(day, "created"), total(day, "completed"), total(day, "deleted")) for day in days
            ],
            as_of_position=self._log.events[-1].position if self._log.events else 0,
        )


class MemoryEventLog:
    """The in-memory log in commit order (which is append order here; transaction ids are positions)."""

    def __init__(self, log: MemoryLog) -> None:
        self._log = log

    async def page(self, query: LogQuery) -> list[tuple[str, RecordedEvent]]:
        low = query.after[1] if query.after else 0
        high = query.before[1] if query.before else None

        def matches(r: RecordedEvent) -> bool:
            return (
                low < r.position
                and (high is None or r.position < high)
                and (not query.types or r.type in query.types)
                and (not query.stream_types or r.stream_type in query.stream_types)
                and query.stream_id in (None, r.stream_id)
                and query.correlation_id in (None, r.metadata.correlation_id)
                and query.causation_id in (None, r.metadata.causation_id)
            )

        found = [(str(r.position), r) for r in self._log.events if matches(r)]
        return (found[::-1] if query.newest_first else found)[: query.limit]

    async def verify_stream(self, stream_id: UUID) -> StreamVerification | None:
        records = self._log.streams.get(stream_id, [])
        return verify_stream(stream_id, records) if records else None


class MemoryProjectionMonitor:
    """In memory every table projection is current (followers are applied at each commit); no reaction runs."""

    def __init__(self, log: MemoryLog) -> None:
        self._log = log

    async def states(self) -> list[ProjectionState]:
        head = self._log.events[-1].position if self._log.events else 0
        return [
            ProjectionState(p.name, head, 0, "inline" if p.mode is Mode.INLINE else "running")
            for p in PROJECTIONS
            if isinstance(p, Table)
        ]

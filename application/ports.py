"""The Protocols the handlers need; infrastructure implements them."""

from collections.abc import Collection, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

import msgspec

from application.context import RefreshGrant, RefreshToken
from application.records import EventMetadata, RecordedEvent, StreamAppend
from application.views import (
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
)


class EventStore(Protocol):
    async def append(
        self, appends: Sequence[StreamAppend], metadata: EventMetadata, recorded_at: datetime
    ) -> list[RecordedEvent]:
        """Append every stream's events atomically, with the inline projections; ConcurrencyError on a lost race."""
        ...

    async def load(
        self, stream_id: UUID, *, to_version: int | None = None, as_of: datetime | None = None
    ) -> list[RecordedEvent]:
        """One stream in version order, whole or up to a version or a time."""
        ...

    async def load_many(self, stream_ids: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        """Several streams in one read; streams with no events are absent."""
        ...


class Credentials(Protocol):
    async def save(self, user_id: UUID, email: str, password_hash: str) -> None:
        """Store a new user's login; EmailTaken when the email is registered already."""
        ...

    async def rehash(self, user_id: UUID, password_hash: str) -> None: ...


class RefreshTokens(Protocol):
    """Refresh tokens, by the hash of the token (the token itself is never stored)."""

    async def add(self, token: RefreshToken) -> None: ...

    async def lock(self, token_hash: bytes) -> RefreshGrant | None:
        """The token's record and its user, locked until the unit of work ends (concurrent refreshes queue here).

        Read on the unit of work's own connection: a second connection taken while holding the lock could
        starve the pool."""
        ...

    async def spend(self, token_hash: bytes, at: datetime) -> None: ...

    async def revoke_family(self, family_id: UUID, at: datetime) -> None: ...

    async def deny_access(self, user_id: UUID, jti: str, expires_at: datetime) -> None:
        """Record a revoked access token of the user durably, until it would have expired anyway."""
        ...


class IdempotencyKeys(Protocol):
    async def claim(
        self, user_id: UUID, key: str, fingerprint: bytes, now: datetime, expired_before: datetime
    ) -> tuple[bytes, bytes] | None:
        """Claim the key for this unit of work; if it holds an unexpired response, (fingerprint, response) instead.

        A concurrent claim of the same key waits until the other unit of work ends, then sees its response."""
        ...

    async def complete(self, user_id: UUID, key: str, response: bytes) -> None: ...


class UnitOfWork(Protocol):
    """One database transaction: commits when the block ends cleanly, rolls back otherwise."""

    @property
    def events(self) -> EventStore: ...

    @property
    def credentials(self) -> Credentials: ...

    @property
    def refresh_tokens(self) -> RefreshTokens: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    async def try_lock(self, key: UUID) -> bool:
        """Hold an exclusive claim on `key` until the unit of work ends; False at once if another holds it."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class DueTasks(Protocol):
    async def take(self, now: datetime, limit: int) -> list[UUID]:
        """Up to `limit` tasks whose due date is before `now` and that are not overdue for it yet, the earliest due
        first, held until the unit of work ends; tasks another unit of work holds are skipped, never waited for."""
        ...


class OverdueUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also takes due tasks (the overdue check's)."""

    @property
    def due_tasks(self) -> DueTasks: ...


class OverdueUnitOfWorkFactory(Protocol):
    def __call__(self) -> OverdueUnitOfWork: ...


class TaskReadModel(Protocol):
    async def get(self, task_id: UUID, owner_id: UUID | None = None) -> TaskView | None:
        """The task, if it is `owner_id`'s (None: whoever's)."""
        ...

    async def list(self, listing: TaskListing) -> TaskRows:
        """Up to `listing.limit` tasks after the keyset position, in the listing's order, as of its snapshot."""
        ...

    async def stats(self, owner_id: UUID | None) -> TaskStats:
        """Counts for one owner's tasks, or every task (None)."""
        ...


class EventLog(Protocol):
    async def page(self, query: LogQuery) -> list[tuple[str, RecordedEvent]]:
        """Up to `query.limit` committed events between its (transaction id, position) pairs, in commit order or
        newest first, with that pair each.

        Never an event whose transaction could still commit behind one already returned."""
        ...

    async def verify_stream(self, stream_id: UUID) -> StreamVerification | None:
        """The stream's versions and hash chain checked; None when it has no events."""
        ...


class AuditTree(Protocol):
    """The log's Merkle tree (RFC 6962) as the audit follower keeps it."""

    async def size(self) -> int:
        """How many events (leaves) the tree holds."""
        ...

    async def nodes(self, wanted: Collection[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The hashes of the complete subtrees (level, index) asked for, in one read; absent ones are left out."""
        ...

    async def leaf_index(self, position: int) -> int | None:
        """The leaf of the event at `position`; None when the tree does not hold it (yet)."""
        ...


class DigestSigner(Protocol):
    """The key digests are signed with (Ed25519); the database never holds it."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> bytes:
        """The 32 raw bytes of the public key."""
        ...

    def sign(self, payload: bytes) -> bytes: ...


class ProjectionMonitor(Protocol):
    async def states(self) -> list[ProjectionState]:
        """Every projection's position, lag and status."""
        ...


class ActivityReadModel(Protocol):
    async def activity(self, owner_id: UUID | None, first: date, last: date) -> ActivityReport:
        """Counts per UTC day from `first` to `last` (every day listed), for one owner or all (None)."""
        ...


class UserReadModel(Protocol):
    async def get(self, user_id: UUID) -> UserView | None: ...

    async def credential(self, email: str) -> Credential | None: ...

    async def list(self, limit: int, after: tuple[datetime, UUID] | None) -> list[UserView]:
        """Up to `limit` users after the keyset position, oldest first."""
        ...


class RefundReadModel(Protocol):
    async def get(self, refund_id: UUID) -> RefundView | None: ...

    async def get_with_owner(self, refund_id: UUID) -> tuple[RefundView, UUID] | None:
        """The refund and whose task it pays back, in one read (None: no such refund)."""
        ...

    async def dead_letters(self, limit: int, after: tuple[datetime, UUID] | None) -> list[RefundView]:
        """FAILED refunds not dismissed, the longest failed first, after the keyset position."""
        ...


class RefundOrder(msgspec.Struct, frozen=True, rename="camel"):
    """What the payment gateway is asked to pay (its JSON body)."""

    refund_id: UUID
    task_id: UUID
    amount: int
    currency: str


class PaymentOutcome(msgspec.Struct, frozen=True):
    """The gateway's answer: paid, or why not and whether trying again may help."""

    paid: bool
    error: str | None = None
    transient: bool = False


class RefundGateway(Protocol):
    async def pay(self, order: RefundOrder) -> PaymentOutcome:
        """One attempt, keyed by the refund id so the gateway pays it once however often it is asked."""
        ...


class TaskCacheInvalidation(Protocol):
    async def tasks_changed(self, task_ids: Collection[UUID], owner_ids: Collection[UUID]) -> None:
        """After a commit: what readers may have cached of these tasks and owners is stale."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class Ids(Protocol):
    def new(self) -> UUID: ...

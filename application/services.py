"""The set of ports a handler may use; the composition root builds one."""

from dataclasses import dataclass

from application.ports import (
    AccessGate,
    AccessRevocations,
    ActivityReadModel,
    AuditTree,
    Clock,
    DigestSigner,
    EventLog,
    Ids,
    PasswordHasher,
    ProjectionMonitor,
    RateLimiter,
    RefundReadModel,
    TaskCacheInvalidation,
    TaskReadModel,
    Tokens,
    UnitOfWorkFactory,
    UserReadModel,
)


@dataclass(frozen=True, slots=True)
class Services:
    uow: UnitOfWorkFactory
    tasks: TaskReadModel
    users: UserReadModel
    activity: ActivityReadModel
    refunds: RefundReadModel
    log: EventLog
    projections: ProjectionMonitor
    clock: Clock
    ids: Ids
    hasher: PasswordHasher
    tokens: Tokens
    revocations: AccessRevocations
    rate_limiter: RateLimiter
    access_gate: AccessGate
    cache: TaskCacheInvalidation
    audit_tree: AuditTree
    audit_signer: DigestSigner
    cursor_secret: bytes
    refresh_token_ttl_seconds: int

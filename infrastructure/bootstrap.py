"""The composition root: one Settings value in, each area's dependency set and the connections behind them out."""

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis

from application.access_ports import AccessGate, Tokens
from application.audit_proofs import DigestDeps
from application.auditing import AuditDeps
from application.payments import Payments
from application.ports import Clock, RefundGateway, TaskCacheInvalidation, TaskReadModel, UnitOfWork
from application.queries import TaskReadDeps
from application.refunds import RefundDeps
from application.tasks import TaskDeps
from application.users import UserDeps
from domain.refunds import RetryPolicy
from infrastructure.audit_keys import Ed25519Signer
from infrastructure.clock import RandomIds, SystemClock
from infrastructure.postgres.audit_tree import PostgresAuditTree
from infrastructure.postgres.deployment_figures import DeploymentFiguresCache
from infrastructure.postgres.log_reader import PostgresEventLog
from infrastructure.postgres.pool import Pool, open_pool
from infrastructure.postgres.projection_status import PostgresProjectionMonitor
from infrastructure.postgres.read_models.activity import PostgresActivityReadModel
from infrastructure.postgres.read_models.refunds import PostgresRefundReadModel
from infrastructure.postgres.read_models.tasks import PostgresTaskReadModel
from infrastructure.postgres.read_models.users import PostgresUserReadModel
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork
from infrastructure.redis.access_gate import RedisAccessGate
from infrastructure.redis.access_records import RedisAccessRecords
from infrastructure.redis.cache import CachedTaskReadModel, NoCache, TaskCache
from infrastructure.redis.guard import RedisGuard
from infrastructure.redis.packing import pack_with_hiredis
from infrastructure.redis.rate_limits import SharedLimits
from infrastructure.security import Argon2Hasher, JwtTokens
from infrastructure.settings import Settings

# How stale /metrics' deployment figures may be, and how long one read of them may take.
FIGURES_MAX_AGE_SECONDS = 5.0
FIGURES_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Dependencies:
    """Each area's dependency set, as its handlers take it."""

    tasks: TaskDeps
    task_reads: TaskReadDeps
    refunds: RefundDeps
    users: UserDeps
    audit: AuditDeps
    digests: DigestDeps


@dataclass(frozen=True, slots=True)
class Runtime:
    """The handlers' dependencies, what the authentication guard asks, and the connections behind them (for
    readiness checks, upkeep and shutdown)."""

    deps: Dependencies
    tokens: Tokens
    access_gate: AccessGate
    pool: Pool
    redis: aioredis.Redis
    revocations: RedisAccessRecords
    cache: TaskCache | None
    deployment_figures: DeploymentFiguresCache


@dataclass(frozen=True, slots=True)
class Adapters:
    """What the areas share beyond the database: the clock, the tokens, and Redis's gate, records, limits and cache."""

    clock: Clock
    tokens: Tokens
    access_gate: AccessGate
    revocations: RedisAccessRecords
    limits: SharedLimits
    cache: TaskCache | None


def redis_client(settings: Settings) -> aioredis.Redis:
    assert settings.redis_url is not None, "resolve embedded servers before connecting"
    client = aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )
    return pack_with_hiredis(client)


def task_reads(pool: Pool, cache: TaskCache | None) -> tuple[TaskReadModel, TaskCacheInvalidation]:
    """The task read model, behind the Redis cache unless it is off (TASKFLOW_CACHE_TTL_SECONDS=0)."""
    tasks = PostgresTaskReadModel(pool)
    if cache is None:
        return tasks, NoCache()
    return CachedTaskReadModel(tasks, cache), cache


def dependencies(pool: Pool, settings: Settings, adapters: Adapters) -> Dependencies:
    """Every area's dependency set, over `pool` and the given adapters."""

    def uow() -> UnitOfWork:
        return PostgresUnitOfWork(pool)

    clock, ids = adapters.clock, RandomIds()
    tasks, invalidation = task_reads(pool, adapters.cache)
    refunds, users = PostgresRefundReadModel(pool), PostgresUserReadModel(pool)
    cursor_secret = hashlib.sha256(b"keyset-cursor:" + settings.jwt_secret).digest()
    return Dependencies(
        tasks=TaskDeps(uow, clock, ids, invalidation, users, refunds),
        task_reads=TaskReadDeps(
            tasks, PostgresActivityReadModel(pool), refunds, uow, clock, adapters.access_gate, cursor_secret
        ),
        refunds=RefundDeps(uow, clock, invalidation, refunds, cursor_secret),
        users=UserDeps(
            uow=uow,
            clock=clock,
            ids=ids,
            tokens=adapters.tokens,
            rate_limiter=adapters.limits,
            revocations=adapters.revocations,
            refresh_token_ttl_seconds=settings.refresh_token_ttl_seconds,
            hasher=Argon2Hasher(settings.argon2_memory_kib, settings.argon2_rounds),
            users=users,
            cursor_secret=cursor_secret,
        ),
        audit=AuditDeps(uow, PostgresEventLog(pool), PostgresProjectionMonitor(pool), cursor_secret),
        digests=DigestDeps(PostgresAuditTree(pool), Ed25519Signer(settings.audit_signing_key), clock),
    )


def payments(deps: Dependencies, gateway: RefundGateway, policy: RetryPolicy, spread: Callable[[], float]) -> Payments:
    """A refund attempt's dependencies: the refunds' log, clock and cache, with the gateway and the retry policy."""
    refunds = deps.refunds
    return Payments(refunds.uow, refunds.clock, refunds.cache, gateway, policy, spread)


def adapters(pool: Pool, client: aioredis.Redis, settings: Settings) -> Adapters:
    """Redis's adapters on `client` (behind one guard), with the system clock, tokens and the gate they make."""
    clock = SystemClock()
    guard = RedisGuard(client, settings.redis_timeout_seconds)
    revocations = RedisAccessRecords(guard, pool, settings.redis_namespace, clock)
    limits = SharedLimits(guard, settings)
    gate = RedisAccessGate(guard, revocations, limits, settings)
    # The gate admits a cached read's caller in the cache's own round trip.
    ttl = settings.cache_ttl_seconds
    cache = TaskCache(guard, settings.redis_namespace, ttl, gate) if ttl else None
    tokens = JwtTokens(settings.jwt_secret, settings.access_token_ttl_seconds, clock)
    return Adapters(clock, tokens, gate, revocations, limits, cache)


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Open the pool and the Redis client, wire the adapters, and close everything on exit."""
    assert settings.database_url is not None, "resolve embedded servers before connecting"
    async with open_pool(
        settings.database_url,
        size=settings.database_pool_size,
        checkout_seconds=settings.database_timeout_seconds,
        # The longest a transaction of ours waits on something else: a refund attempt's gateway call, plus a statement.
        idle_in_transaction_seconds=settings.refund_gateway_timeout_seconds + settings.database_timeout_seconds,
    ) as pool:
        client = redis_client(settings)
        wired = adapters(pool, client, settings)
        try:
            yield Runtime(
                deps=dependencies(pool, settings, wired),
                tokens=wired.tokens,
                access_gate=wired.access_gate,
                pool=pool,
                redis=client,
                revocations=wired.revocations,
                cache=wired.cache,
                deployment_figures=DeploymentFiguresCache(
                    pool, max_age_seconds=FIGURES_MAX_AGE_SECONDS, timeout_seconds=FIGURES_TIMEOUT_SECONDS
                ),
            )
        finally:
            await client.aclose()

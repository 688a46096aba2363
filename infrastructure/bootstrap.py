"""The composition root: one Settings value in, one set of wired adapters out."""

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis

from application.ports import TaskCacheInvalidation, TaskReadModel
from application.services import Services
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
from infrastructure.redis.rate_limits import SharedLimits
from infrastructure.security import Argon2Hasher, JwtTokens
from infrastructure.settings import Settings

# How stale /metrics' deployment figures may be, and how long one read of them may take.
FIGURES_MAX_AGE_SECONDS = 5.0
FIGURES_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Runtime:
    """The services handlers use, and the connections behind them (for readiness checks and shutdown)."""

    services: Services
    pool: Pool
    redis: aioredis.Redis
    revocations: RedisAccessRecords
    cache: TaskCache | None
    deployment_figures: DeploymentFiguresCache


def redis_client(settings: Settings) -> aioredis.Redis:
    assert settings.redis_url is not None, "resolve embedded servers before connecting"
    return aioredis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )


def task_reads(
    pool: Pool, guard: RedisGuard, settings: Settings, gate: RedisAccessGate
) -> tuple[TaskReadModel, TaskCacheInvalidation, TaskCache | None]:
    """The task read model, behind the Redis cache unless TASKFLOW_CACHE_TTL_SECONDS is 0 (the gate admits a
    cached read's caller in the cache's round trip)."""
    tasks = PostgresTaskReadModel(pool)
    if not settings.cache_ttl_seconds:
        return tasks, NoCache(), None
    cache = TaskCache(guard, settings.redis_namespace, settings.cache_ttl_seconds, gate)
    return CachedTaskReadModel(tasks, cache), cache, cache


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Open the pool and the Redis client, wire the adapters, and close everything on exit."""
    assert settings.database_url is not None, "resolve embedded servers before connecting"
    clock = SystemClock()
    async with open_pool(
        settings.database_url,
        size=settings.database_pool_size,
        checkout_seconds=settings.database_timeout_seconds,
        # The longest a transaction of ours waits on something else: a refund attempt's gateway call, plus a statement.
        idle_in_transaction_seconds=settings.refund_gateway_timeout_seconds + settings.database_timeout_seconds,
    ) as pool:
        client = redis_client(settings)
        guard = RedisGuard(client, settings.redis_timeout_seconds)
        revocations = RedisAccessRecords(guard, pool, settings.redis_namespace, clock)
        limits = SharedLimits(guard, settings)
        gate = RedisAccessGate(guard, revocations, limits, settings)
        tasks, invalidation, cache = task_reads(pool, guard, settings, gate)
        try:
            services = Services(
                uow=lambda: PostgresUnitOfWork(pool),
                tasks=tasks,
                users=PostgresUserReadModel(pool),
                activity=PostgresActivityReadModel(pool),
                refunds=PostgresRefundReadModel(pool),
                log=PostgresEventLog(pool),
                projections=PostgresProjectionMonitor(pool),
                clock=clock,
                ids=RandomIds(),
                hasher=Argon2Hasher(settings.argon2_memory_kib, settings.argon2_rounds),
                tokens=JwtTokens(settings.jwt_secret, settings.access_token_ttl_seconds, clock),
                revocations=revocations,
                rate_limiter=limits,
                access_gate=gate,
                cache=invalidation,
                audit_tree=PostgresAuditTree(pool),
                audit_signer=Ed25519Signer(settings.audit_signing_key),
                cursor_secret=hashlib.sha256(b"keyset-cursor:" + settings.jwt_secret).digest(),
                refresh_token_ttl_seconds=settings.refresh_token_ttl_seconds,
            )
            yield Runtime(
                services=services,
                pool=pool,
                redis=client,
                revocations=revocations,
                cache=cache,
                deployment_figures=DeploymentFiguresCache(
                    pool, max_age_seconds=FIGURES_MAX_AGE_SECONDS, timeout_seconds=FIGURES_TIMEOUT_SECONDS
                ),
            )
        finally:
            await client.aclose()

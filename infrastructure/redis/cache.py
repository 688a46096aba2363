"""The Redis cache in front of the task read model: encoded bytes under generation-numbered keys."""

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import msgspec

from application.context import Actor, Admission, RateRule
from application.sessions import PENDING
from application.views import TaskListing, TaskRows, TaskStats, TaskView
from infrastructure.metrics import count_cache_read
from infrastructure.postgres.read_models.tasks import PostgresTaskReadModel
from infrastructure.redis.access_gate import Fetch, Fetched, RedisAccessGate
from infrastructure.redis.guard import RedisGuard, RedisUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# Fetch a generation and the value stored under it in one round trip.
_FETCH = """
local generation = redis.call('GET', KEYS[1])
if not generation then
    redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[3])
    generation = redis.call('GET', KEYS[1])
end
return {generation, redis.call('GET', ARGV[1] .. generation)}
"""
LOCK_MILLISECONDS = 2000
WAIT_STEPS, WAIT_SECONDS = 10, 0.02
GENERATION_TTL_SECONDS = 7 * 86_400  # longer than any value lives (the TTL setting is at most a day)


class LeaderGone(Exception):
    """The request computing a value was cancelled before it finished."""


# Bump every generation a commit made stale, in one round trip whatever their number (a batch of 1,000 tasks
# touches 1,002). A generation that is gone starts from the clock, never again from 0: old values stay unseen.
_BUMP = """
for _, key in ipairs(KEYS) do
    redis.call('SET', key, ARGV[1], 'NX', 'EX', ARGV[2])
    redis.call('INCR', key)
    redis.call('EXPIRE', key, ARGV[2])
end
return #KEYS
"""


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """A route's whole answer as the cache keeps it: its body and ETag when kept; else the key to keep one under
    (None: not now, the cache being bypassed)."""

    body: bytes | None = None
    etag: str = ""
    key: str | None = None


class TaskCache:
    """Every value key ends in its owner's generation (or every owner's, for admins' views); a commit bumps them before
    the client hears back, so later reads on any instance miss: read-your-writes. A miss is computed once per key
    at a time (single flight, and a short Redis lock across processes); Redis trouble means the database answers."""

    def __init__(
        self, guard: RedisGuard, namespace: str, ttl_seconds: int, gate: RedisAccessGate | None = None
    ) -> None:
        self._guard = guard
        self._gate = gate
        self._prefix = namespace
        self._ttl = ttl_seconds
        self._fetch = guard.client.register_script(_FETCH)
        self._bump = guard.client.register_script(_BUMP)
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._unsent: set[str] = set()
        self._held: set[str] = set()  # bumps Redis did not take when their commit ended: until sent, no cache reads
        self.hits = self.misses = 0

    def generation_key(self, scope: str) -> str:
        return f"{self._prefix}:{_tag(scope)}:gen"

    async def read(self, scope: str, name: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The bytes cached for `name` under the current generation of `scope`, computed on a miss. A caller whose
        admission is still to be asked (sessions.admitted_read) is admitted in the same round trip."""
        admission = PENDING.get()
        if admission is not None and admission.settled:
            admission = None
        if not await self._flush():
            count_cache_read("bypass")  # until this instance's own invalidations are out, its reads skip the cache
            if admission is not None and self._gate is not None:
                admission.settle(await self._gate.admit(admission.claims, RateRule.API_BY_USER))
            return await compute()
        prefix = f"{self._prefix}:{_tag(scope)}:{name}:"
        fetch = Fetch(self.generation_key(scope), prefix, time.time_ns(), GENERATION_TTL_SECONDS)
        if admission is not None and self._gate is not None:
            verdict, fetched = await self._gate.admit_and_fetch(admission.claims, RateRule.API_BY_USER, fetch)
            admission.settle(verdict)  # a refused caller learns nothing, not even whether it was cached
        else:
            fetched = await self._fetch_generation(fetch)
        if fetched is None:
            count_cache_read("bypass")
            return await compute()
        if fetched.value is not None:
            self.hits += 1
            count_cache_read("hit")
            return fetched.value
        self.misses += 1
        count_cache_read("miss")
        return await self._single_flight(prefix + fetched.generation, compute)

    async def kept_answer(self, caller: Actor, name: str, admission: Admission) -> KeptAnswer:
        """The whole answer kept for `caller` under `name`, with the caller's admission asked in the same round trip
        (a refusal raises). An admin's answers are kept for every admin (they all see every task), under the
        generation every commit bumps; a user's for that user, under theirs. While this instance's invalidations are
        unsent nothing is kept or read, and the admission is left to the route."""
        if self._gate is None or not await self._flush():
            return KeptAnswer()
        scope = "all" if caller.is_admin else f"owner:{caller.user_id}"
        prefix = f"{self._prefix}:{_tag(scope)}:answer:{name}:"
        fetch = Fetch(self.generation_key(scope), prefix, time.time_ns(), GENERATION_TTL_SECONDS)
        verdict, fetched = await self._gate.admit_and_fetch(admission.claims, RateRule.API_BY_USER, fetch)
        admission.settle(verdict)
        if fetched is None:
            count_cache_read("bypass")
            return KeptAnswer()
        if fetched.value is None:
            count_cache_read("miss")
            return KeptAnswer(key=prefix + fetched.generation)
        count_cache_read("hit")
        etag, _, body = fetched.value.partition(b"\n")
        return KeptAnswer(body=body, etag=etag.decode())

    async def keep_answer(self, key: str, body: bytes, etag: str = "", at_most_seconds: int | None = None) -> None:
        """Keep a route's answer under the key `kept_answer` gave (an ETag has no line break: it is one token), for
        the TTL or `at_most_seconds` if shorter."""
        seconds = min(self._ttl, at_most_seconds) if at_most_seconds else self._ttl
        with contextlib.suppress(RedisUnavailable):
            await self._guard.call(self._guard.client.set(key, etag.encode() + b"\n" + body, ex=seconds))

    async def _fetch_generation(self, fetch: Fetch) -> Fetched | None:
        try:
            generation, cached = await self._guard.script(
                self._fetch, [fetch.generation_key], [fetch.prefix, fetch.seed, fetch.ttl]
            )
        except RedisUnavailable:
            return None
        return Fetched(generation.decode(), bytes(cached) if cached is not None else None)

    async def _single_flight(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        running = self._inflight.get(key)
        if running is not None:
            try:
                return await asyncio.shield(running)
            except LeaderGone:
                return await compute()  # the request computing it was cancelled: this one computes for itself
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await self._compute_once(key, compute)
        except BaseException as exc:
            # Waiters get an ordinary error (never the leader's cancellation) and compute for themselves.
            future.set_exception(exc if isinstance(exc, Exception) else LeaderGone())
            future.exception()  # retrieved here, so a future nobody else awaited does not warn
            raise
        finally:
            del self._inflight[key]
        future.set_result(value)
        return value

    async def _compute_once(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> bytes:
        client = self._guard.client
        try:
            leading = await self._guard.call(client.set(f"{key}:lock", 1, nx=True, px=LOCK_MILLISECONDS))
        except RedisUnavailable:
            return await compute()
        if not leading:
            for _ in range(WAIT_STEPS):
                await asyncio.sleep(WAIT_SECONDS)
                try:
                    value = await self._guard.call(client.get(key))
                except RedisUnavailable:
                    break
                if isinstance(value, bytes):
                    return value
            return await compute()
        try:
            value = await compute()
            with contextlib.suppress(RedisUnavailable):
                await self._guard.call(client.set(key, value, ex=self._ttl))
            return value
        finally:
            with contextlib.suppress(RedisUnavailable):
                await self._guard.call(client.delete(f"{key}:lock"))

    async def tasks_changed(self, task_ids: Collection[UUID], owner_ids: Collection[UUID]) -> None:
        """Bump the generations a commit made stale; kept for later if Redis does not take them now."""
        # Task details are kept under their owner's generation (and admins' under everyone's): bumping the owners'
        # covers them, whatever the number of tasks.
        scopes = [f"owner:{owner}" for owner in owner_ids] + ["all"]
        self._unsent.update(self.generation_key(scope) for scope in scopes)
        await self._flush()

    @property
    def holding_invalidations(self) -> bool:
        return bool(self._unsent or self._held)

    async def flush(self) -> bool:
        """Send every kept invalidation; True when none is left (only then may this instance read the cache)."""
        return await self._flush()

    async def _flush(self) -> bool:
        """Send every kept invalidation; True when none is left (only then may this instance read the cache). A bump
        that failed once stays held while it is being sent again: its commit was acknowledged, and a read meanwhile
        must not find what it replaced."""
        if not self._unsent:
            return not self._held
        # Taken out before the await: a bump kept meanwhile by another commit stays kept.
        keys, self._unsent = self._unsent, set()
        try:
            await self._guard.script(self._bump, sorted(keys), [time.time_ns(), GENERATION_TTL_SECONDS])
        except RedisUnavailable:
            self._unsent |= keys
            self._held |= keys
            log.warning("cache invalidations kept for later: Redis did not answer", extra={"pending": len(keys)})
            return False
        self._held -= keys
        return not self._unsent and not self._held


class CachedTaskReadModel:
    """The task read model, through the cache: hits never touch the database."""

    def __init__(self, inner: PostgresTaskReadModel, cache: TaskCache) -> None:
        self._inner = inner
        self._cache = cache

    async def get(self, task_id: UUID, owner_id: UUID | None = None) -> TaskView | None:
        async def compute() -> bytes:
            return msgspec.json.encode(await self._inner.get(task_id, owner_id))

        cached = await self._cache.read(_scope(owner_id), f"task:{task_id}", compute)
        return msgspec.json.decode(cached, type=TaskView | None)

    async def list(self, listing: TaskListing) -> TaskRows:
        name = "list:" + hashlib.sha256(msgspec.json.encode(listing)).hexdigest()

        async def compute() -> bytes:
            return msgspec.json.encode(await self._inner.list(listing))

        cached = await self._cache.read(_scope(listing.filter.owner_id), name, compute)
        return msgspec.json.decode(cached, type=TaskRows)

    async def stats(self, owner_id: UUID | None) -> TaskStats:
        async def compute() -> bytes:
            return msgspec.json.encode(await self._inner.stats(owner_id))

        cached = await self._cache.read(_scope(owner_id), "stats", compute)
        return msgspec.json.decode(cached, type=TaskStats)


def _scope(owner_id: UUID | None) -> str:
    return f"owner:{owner_id}" if owner_id else "all"


def _tag(scope: str) -> str:
    """A scope's hash tag: an owner's keys share a slot with that user's access record and rate window."""
    return "{u:" + scope.removeprefix("owner:") + "}" if scope.startswith("owner:") else "{" + scope + "}"


class NoCache:
    """What stands in for the cache when it is off: nothing to invalidate."""

    async def tasks_changed(self, task_ids: Collection[UUID], owner_ids: Collection[UUID]) -> None:
        return None

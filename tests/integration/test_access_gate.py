"""The access gate: a token's access record (revoked? its role still its user's? a user at all?) and the user's
window in one Redis round trip, with a cached value fetched in the same one; shared by every instance, and the
same answers from PostgreSQL and per-process windows when Redis cannot give them."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from application.context import AccessClaims, Actor, RateRule
from domain.values import Role
from infrastructure.clock import SystemClock
from infrastructure.postgres.pool import Pool
from infrastructure.redis.access_gate import Fetch, RedisAccessGate
from infrastructure.redis.access_records import RedisAccessRecords
from infrastructure.redis.guard import RedisGuard
from infrastructure.redis.rate_limits import SharedLimits
from infrastructure.settings import Settings

RULE = RateRule.API_BY_USER


class Counted(RedisGuard):
    """A guard that counts the calls made through it: Redis round trips."""

    calls = 0

    async def call(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        Counted.calls += 1
        return await super().call(*args, **kwargs)  # type: ignore[arg-type]


def gate(client: aioredis.Redis, pool: Pool, settings: Settings, limit: str = "3/minute") -> RedisAccessGate:
    """One instance's gate (a test makes two to stand for two API processes)."""
    tuned = msgspec.structs.replace(settings, api_rate_limit=limit)
    guard = Counted(client, 1.0)
    records = RedisAccessRecords(guard, pool, settings.redis_namespace, SystemClock())
    return RedisAccessGate(guard, records, SharedLimits(guard, tuned), tuned)


def records(client: aioredis.Redis, pool: Pool, settings: Settings, timeout: float = 1.0) -> RedisAccessRecords:
    return RedisAccessRecords(RedisGuard(client, timeout), pool, settings.redis_namespace, SystemClock())


async def user(pool: Pool, role: Role = Role.USER, role_since: datetime | None = None) -> UUID:
    """A registered user, as users_view has one."""
    user_id = uuid4()
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO users_view (id, email, name, role, version, created_at, updated_at, role_since)"
            " VALUES (%s, %s, 'someone', %s, 1, now(), now(), %s)",
            (user_id, f"{user_id}@example.com", role.value, role_since),
        )
    return user_id


def token(user_id: UUID, jti: str, role: Role = Role.USER, issued: datetime | None = None) -> AccessClaims:
    issued = issued or datetime.now(UTC).replace(microsecond=0)
    return AccessClaims(Actor(user_id, role), jti, issued + timedelta(minutes=15), issued)


async def revoke(pool: Pool, user_id: UUID, jti: str) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO revoked_access_tokens (jti, user_id, expires_at)"
            " VALUES (%s, %s, now() + interval '10 minutes')",
            (jti, user_id),
        )


async def test_the_window_is_shared_by_instances_and_names_when_a_slot_frees(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    one, two = gate(redis, pool, settings), gate(redis, pool, settings)
    alice, bob = await user(pool), await user(pool)
    answers = [await instance.admit(token(alice, f"jti-{i}"), RULE) for i, instance in enumerate([one, two, one, two])]
    assert [answer.allowed if answer else None for answer in answers] == [True, True, True, False]
    refused = answers[-1]
    assert refused is not None
    assert (refused.limit, refused.remaining) == (3, 0)
    assert 55 <= refused.reset_after_seconds <= 61
    within = await one.admit(token(bob, "jti-other"), RULE)  # another user has a window of their own
    assert within is not None
    assert within.allowed


async def test_a_revoked_token_is_refused_and_not_counted(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    alice = await user(pool)
    await revoke(pool, alice, "jti-revoked")
    instance = gate(redis, pool, settings, limit="1/minute")
    assert await instance.admit(token(alice, "jti-revoked"), RULE) is None
    allowed = await instance.admit(token(alice, "jti-fine"), RULE)
    assert allowed is not None
    assert allowed.allowed, "the revoked token's request took the one slot"


async def test_one_round_trip_a_request_once_the_record_is_loaded(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    alice = await user(pool)
    instance = gate(redis, pool, settings, limit="100/minute")
    await instance.admit(token(alice, "jti-1"), RULE)  # loads the record from PostgreSQL: a second call
    Counted.calls = 0
    assert await instance.admit(token(alice, "jti-1"), RULE) is not None
    seed = 1
    fetch = Fetch(
        f"{settings.redis_namespace}:{{u:{alice}}}:gen", f"{settings.redis_namespace}:{{u:{alice}}}:v:", seed, 60
    )
    await redis.set(f"{settings.redis_namespace}:{{u:{alice}}}:v:{seed}", b"cached")
    verdict, fetched = await instance.admit_and_fetch(token(alice, "jti-1"), RULE, fetch)
    assert verdict is not None
    assert verdict.allowed
    assert fetched is not None
    assert (fetched.generation, fetched.value) == (str(seed), b"cached")
    assert Counted.calls == 2, "one round trip for the gate alone, one for the gate and a cached value"
    records_keys = records(redis, pool, settings).keys(alice)
    slots = {key_slot(key.encode()) for key in (*records_keys, fetch.generation_key, fetch.prefix + "1")}
    assert len(slots) == 1, "a user's record, window, generation and values share one hash slot"


async def test_without_a_record_the_database_answers_stores_it_and_the_window_still_counts(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    alice = await user(pool)
    await revoke(pool, alice, "jti-late")  # in the database only, as after Redis lost what it had
    instance = gate(redis, pool, settings, limit="1/minute")
    assert await instance.admit(token(alice, "jti-late"), RULE) is None
    assert await redis.exists(records(redis, pool, settings).keys(alice)[0]), "the record is stored for the next"
    await redis.delete(records(redis, pool, settings).keys(alice)[0])  # as after a Redis restart
    first = await instance.admit(token(alice, "jti-fine"), RULE)
    second = await instance.admit(token(alice, "jti-fine"), RULE)
    assert first is not None
    assert second is not None
    assert (first.allowed, second.allowed) == (True, False)


async def test_with_redis_down_the_parts_answer_one_after_the_other(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    alice = await user(pool)
    await revoke(pool, alice, "jti-revoked")
    down = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    async with down:
        instance = gate(down, pool, settings, limit="2/minute")
        assert await instance.admit(token(alice, "jti-revoked"), RULE) is None  # from the database
        answers = [await instance.admit(token(alice, "jti-fine"), RULE) for _ in range(3)]
    assert [answer.allowed if answer else None for answer in answers] == [True, True, False]  # this process's window


async def test_a_revocation_this_process_could_not_publish_is_refused_here_and_republished(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    alice = await user(pool)
    instance = gate(redis, pool, settings)
    assert await instance.admit(token(alice, "jti-lost"), RULE) is not None  # the record is loaded in Redis
    down = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    async with down:
        lost = records(down, pool, settings, 0.3)
        blind = RedisAccessGate(RedisGuard(down, 0.3), lost, SharedLimits(RedisGuard(down, 0.3), settings), settings)
        await revoke(pool, alice, "jti-lost")
        await lost.token_revoked(alice, "jti-lost", SystemClock().now() + timedelta(minutes=10))
        assert await blind.admit(token(alice, "jti-lost"), RULE) is None
    # Another instance still reads the loaded record, which the publication missed, until the republication.
    healthy = records(redis, pool, settings)
    async with pool.connection() as conn:
        assert await healthy.republish(conn) >= 1
    assert await instance.admit(token(alice, "jti-lost"), RULE) is None


async def test_a_role_change_refuses_the_tokens_of_the_old_role_at_once(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    bob = await user(pool, Role.ADMIN)
    instance = gate(redis, pool, settings, limit="100/minute")
    before = token(bob, "jti-admin", Role.ADMIN, datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5))
    assert await instance.admit(before, RULE) is not None  # loaded: bob is an admin
    async with pool.connection() as conn:
        await conn.execute("UPDATE users_view SET role = 'user', role_since = now(), version = 2 WHERE id = %s", (bob,))
    await records(redis, pool, settings).role_changed(bob)
    assert await instance.admit(before, RULE) is None, "the admin's token outlived the demotion"
    renewed = token(bob, "jti-user", Role.USER)
    assert await instance.admit(renewed, RULE) is not None
    older_but_user = token(bob, "jti-old", Role.USER, before.issued_at)
    assert await instance.admit(older_but_user, RULE) is None, "issued before the change, whatever its role"


async def test_a_token_whose_subject_is_no_user_is_refused(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    instance = gate(redis, pool, settings)
    assert await instance.admit(token(uuid4(), "jti-forged"), RULE) is None
    assert await instance.admit(token(uuid4(), "jti-forged", Role.ADMIN), RULE) is None


async def test_a_load_that_read_before_a_revocation_does_not_store_what_it_read(
    pool: Pool, redis: aioredis.Redis, settings: Settings
) -> None:
    alice = await user(pool)
    access = records(redis, pool, settings)
    record_key, epoch_key = access.keys(alice)
    found_epoch = await redis.get(epoch_key)  # what a gate read before going to PostgreSQL
    epoch = found_epoch.decode() if isinstance(found_epoch, bytes) else "0"
    await revoke(pool, alice, "jti-raced")
    await access.token_revoked(alice, "jti-raced", SystemClock().now() + timedelta(minutes=10))
    stale = await access.record(alice)
    assert "jti-raced" in stale.revoked
    await access.load(alice, epoch)  # the epoch moved on: nothing is stored
    assert not await redis.exists(record_key)
    assert await gate(redis, pool, settings).admit(token(alice, "jti-raced"), RULE) is None


@pytest.mark.parametrize("role", [Role.USER, Role.ADMIN])
async def test_the_access_record_holds_the_role_and_revocations_the_gate_reads(
    pool: Pool, redis: aioredis.Redis, settings: Settings, role: Role
) -> None:
    since = datetime(2031, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    someone = await user(pool, role, since)
    await revoke(pool, someone, "jti-gone")
    found = await records(redis, pool, settings).record(someone)
    assert (found.role, found.role_since, found.revoked) == (role, since, frozenset({"jti-gone"}))
    assert found.refuses(token(someone, "jti-gone", role, since + timedelta(seconds=1)))
    assert found.refuses(token(someone, "jti-early", role, since - timedelta(seconds=1)))
    assert not found.refuses(token(someone, "jti-same-second", role, since.replace(microsecond=0)))

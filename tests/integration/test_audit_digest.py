"""`taskflow audit verify --digest`: an attacker with the table owner's role (the append-only trigger disabled) who
edits an event and recomputes its stream's chain, deletes a whole stream, or slips an event in early, passes the
per-stream check but is caught against a signed digest; a digest whose signature does not verify is refused."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
from psycopg.types.json import Jsonb

from application.context import Actor, RequestContext
from application.records import RecordedEvent
from application.tasks import CreateTask, TaskChanges, UpdateTask, create_task, update_task
from domain.values import Role
from infrastructure.audit_keys import Ed25519Signer
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.event_hash import event_hash
from infrastructure.postgres.event_rows import EVENT_COLUMNS, record_from_row
from infrastructure.postgres.pool import Pool
from infrastructure.settings import Settings
from tests.e2e.processes import base_environment, run_taskflow
from tests.integration.test_audit_tree import grow
from tests.integration.wiring import deps_over

TRIGGER = "events_no_update_delete"


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    assert settings.database_url
    assert settings.redis_url
    return base_environment(TASKFLOW_DATABASE_URL=settings.database_url, TASKFLOW_REDIS_URL=settings.redis_url)


async def three_tasks(deps: Dependencies) -> list[UUID]:
    ctx = RequestContext(actor=Actor(uuid4(), Role.USER), request_id="test")
    ids = []
    for title in ("first", "second", "third"):
        task = await create_task(CreateTask(title), ctx, deps.tasks)
        await update_task(UpdateTask(task.id, TaskChanges(title=f"{title}, renamed")), ctx, deps.tasks)
        ids.append(task.id)
    return ids


async def signed(pool: Pool, env: dict[str, str], path: Path) -> dict[str, Any]:
    """The tree grown over the log, then `taskflow audit digest` kept in `path`, as an auditor would."""
    await grow(pool)
    printed = await run_taskflow(env, "audit", "digest")
    assert printed.returncode == 0, printed.stderr
    await asyncio.to_thread(path.write_text, printed.stdout)
    digest: dict[str, Any] = json.loads(printed.stdout)
    return digest


async def stream(conn: Any, stream_id: UUID) -> list[RecordedEvent]:
    query = f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = %s ORDER BY version"
    cursor = await conn.execute(query, (stream_id,))
    return [record_from_row(row) for row in await cursor.fetchall()]


async def as_owner(pool: Pool, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """What only the table's owner can do: change the log with the guard trigger off."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(f"ALTER TABLE events DISABLE TRIGGER {TRIGGER}")
        for statement, params in statements:
            await conn.execute(statement, params)
        await conn.execute(f"ALTER TABLE events ENABLE TRIGGER {TRIGGER}")


async def forge_title(pool: Pool, stream_id: UUID, title: str) -> None:
    """Rewrite the task's TaskCreated title and recompute the stream's hash chain from there, as an attacker would."""
    async with pool.connection() as conn:
        records = await stream(conn, stream_id)
    previous, updates = b"", []
    for record in records:
        if record.version == 1:
            record = msgspec.structs.replace(record, data=record.data | {"title": title})
        previous = event_hash(previous, record)
        update = "UPDATE events SET data = %s, hash = %s WHERE position = %s"
        updates.append((update, (Jsonb(record.data), previous, record.position)))
    await as_owner(pool, *updates)


async def verify(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = await run_taskflow(env, "audit", "verify", *args)
    return result.returncode, result.stdout + result.stderr


class TestTheLogAgainstItsDigest:
    async def test_an_untouched_log_matches_and_may_grow(
        self, pool: Pool, deps: Dependencies, env: dict[str, str], tmp_path: Path
    ) -> None:
        await three_tasks(deps)
        digest = await signed(pool, env, tmp_path / "digest.json")
        assert digest["treeSize"] == 6
        status, output = await verify(env, "--digest", str(tmp_path / "digest.json"))
        assert status == 0, output
        assert "its first 6 events are the ones the digest signed" in output
        await three_tasks(deps)  # the log extends what was signed
        assert (await verify(env, "--digest", str(tmp_path / "digest.json")))[0] == 0

    async def test_an_edit_with_its_chain_recomputed_is_named(
        self, pool: Pool, deps: Dependencies, env: dict[str, str], tmp_path: Path
    ) -> None:
        ids = await three_tasks(deps)
        await signed(pool, env, tmp_path / "digest.json")
        await forge_title(pool, ids[1], "forged")
        status, output = await verify(env)
        assert status == 0, "the chain was recomputed: the per-stream check alone passes"
        status, output = await verify(env, "--digest", str(tmp_path / "digest.json"))
        assert status != 0
        assert f"stream {ids[1]} version 1" in output
        assert "changed since the digest was signed" in output
        assert f"stream {ids[0]}" not in output

    async def test_a_deleted_stream_is_named(
        self, pool: Pool, deps: Dependencies, env: dict[str, str], tmp_path: Path
    ) -> None:
        ids = await three_tasks(deps)
        await signed(pool, env, tmp_path / "digest.json")
        await as_owner(pool, ("DELETE FROM events WHERE stream_id = %s", (ids[0],)))
        assert (await verify(env))[0] == 0, "a whole stream gone leaves no broken chain"
        status, output = await verify(env, "--digest", str(tmp_path / "digest.json"))
        assert status != 0
        for version in (1, 2):
            assert f"stream {ids[0]} version {version}" in output
        assert "gone from the log" in output
        assert "the log holds 4 events; the digest covers 6" in output

    async def test_an_event_slipped_in_early_is_named(
        self, pool: Pool, deps: Dependencies, env: dict[str, str], tmp_path: Path
    ) -> None:
        ids = await three_tasks(deps)
        await signed(pool, env, tmp_path / "digest.json")
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT min(transaction_id)::text FROM events")
            earliest = (await cursor.fetchone() or ("",))[0]
            model = (await stream(conn, ids[0]))[0]
        # A stream of its own with a whole chain, dated into the first transaction: early in commit order.
        forged = msgspec.structs.replace(model, stream_id=uuid4(), data=model.data | {"title": "slipped in"})
        await as_owner(
            pool,
            (
                "INSERT INTO events (transaction_id, stream_id, stream_type, version, type, schema_version, data,"
                " metadata, recorded_at, hash) VALUES (%s::xid8, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    earliest,
                    forged.stream_id,
                    forged.stream_type,
                    forged.version,
                    forged.type,
                    forged.schema_version,
                    Jsonb(forged.data),
                    Jsonb(msgspec.to_builtins(forged.metadata)),
                    forged.recorded_at,
                    event_hash(b"", forged),
                ),
            ),
        )
        assert (await verify(env))[0] == 0, "its chain is whole"
        status, output = await verify(env, "--digest", str(tmp_path / "digest.json"))
        assert status != 0
        assert f"stream {forged.stream_id} version 1" in output
        assert "not in the digest (inserted)" in output


class TestTheDigestItself:
    async def test_a_signature_that_does_not_verify_is_refused(
        self, pool: Pool, deps: Dependencies, env: dict[str, str], tmp_path: Path
    ) -> None:
        await three_tasks(deps)
        digest = await signed(pool, env, tmp_path / "digest.json")
        signature = bytearray(base64.b64decode(digest["signature"]))
        signature[0] ^= 1
        smaller = digest["signedPayload"].replace('"treeSize":6', '"treeSize":5')
        cases = {
            "bad signature": digest | {"signature": base64.b64encode(bytes(signature)).decode()},
            "payload changed": digest | {"signedPayload": smaller},
        }
        for name, forged in cases.items():
            (tmp_path / "forged.json").write_text(json.dumps(forged))
            status, output = await verify(env, "--digest", str(tmp_path / "forged.json"))
            assert status != 0, name
            assert "signature does not verify" in output, name
        (tmp_path / "unsigned.json").write_text(json.dumps(digest | {"treeSize": 5}))
        status, output = await verify(env, "--digest", str(tmp_path / "unsigned.json"))
        assert status != 0
        assert "differ from its signed payload" in output

    async def test_only_the_configured_or_given_key_is_trusted(
        self, pool: Pool, deps: Dependencies, env: dict[str, str], tmp_path: Path
    ) -> None:
        await three_tasks(deps)
        other_key = base64.b64encode(b"another audit signing key, 32 b.").decode()
        await signed(pool, env | {"TASKFLOW_AUDIT_SIGNING_KEY": other_key}, tmp_path / "other.json")
        status, output = await verify(env, "--digest", str(tmp_path / "other.json"))
        assert status != 0
        assert "not this key" in output
        other_public = base64.b64encode(Ed25519Signer(base64.b64decode(other_key)).public_key).decode()
        status, output = await verify(env, "--digest", str(tmp_path / "other.json"), "--public-key", other_public)
        assert status == 0, output
        status, output = await verify(env, "--digest", str(tmp_path / "other.json"), "--public-key", "not a key")
        assert status == 2
        assert "--public-key" in output

"""The log's Merkle tree as the audit follower keeps it in PostgreSQL, and the proofs served from it, checked by the
tests' own RFC 6962 verifier: every tree up to 130 events, and random sizes up to 100,000."""

import base64
import hashlib
import random
from collections.abc import AsyncIterator, Sequence
from functools import cache
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from application.audit_proofs import InclusionProof, consistency_proof, inclusion_proof, latest_digest, public_key
from application.context import Actor, RequestContext
from domain.values import Role
from infrastructure.bootstrap import Dependencies
from infrastructure.postgres.audit_tree import AuditTreeFollower
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.pool import Pool
from infrastructure.settings import Settings
from tests.integration.wiring import deps_over
from tests.rfc6962_verifier import leaf, mth, verify_consistency, verify_inclusion

ADMIN = RequestContext(actor=Actor(UUID(int=1), Role.ADMIN), request_id="test")

# n events of their own streams in one statement (the append-only trigger stays on: these are inserts), each with
# a distinct stored hash; `start` keeps the streams of several fills apart.
FILL = """
INSERT INTO events (stream_id, stream_type, version, type, data, metadata, recorded_at, hash)
SELECT md5('fill ' || i)::uuid, 'task', 1, 'TaskCreated', '{}', '{}', now(), sha256(('event ' || i)::bytea)
FROM generate_series(%(start)s, %(start)s + %(n)s - 1) AS i
"""


@pytest.fixture
async def deps(pool: Pool, settings: Settings) -> AsyncIterator[Dependencies]:
    async with deps_over(pool, settings) as wired:
        yield wired


async def fill(pool: Pool, n: int, start: int = 0) -> None:
    async with pool.connection() as conn:
        await conn.execute(FILL, {"n": n, "start": start})


async def grow(pool: Pool, batch: int = 1000) -> None:
    follower = AuditTreeFollower()
    while await run_batch(pool, follower, batch):
        pass


async def log_leaves(pool: Pool) -> list[bytes]:
    """The leaf hashes by the definition: each event's stored hash, in the followers' commit order."""
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT hash FROM events ORDER BY transaction_id, position")
        return [leaf(bytes(row[0])) for row in await cursor.fetchall()]


async def positions(pool: Pool) -> list[int]:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT position FROM events ORDER BY transaction_id, position")
        return [row[0] for row in await cursor.fetchall()]


def check_inclusion(leaves: Sequence[bytes], proof: InclusionProof, index: int, size: int, root: bytes) -> None:
    assert (proof.leaf_index, proof.tree_size, proof.leaf_hash) == (index, size, leaves[index].hex())
    path = [bytes.fromhex(h) for h in proof.audit_path]
    assert verify_inclusion(leaves[index], index, size, path, root), (index, size)


class TestStoredTree:
    async def test_grown_in_uneven_batches_it_holds_every_complete_subtree_by_the_definition(self, pool: Pool) -> None:
        for start, n in ((0, 50), (50, 1), (51, 79)):  # three transactions
            await fill(pool, n, start)
            await grow(pool, batch=7)
        leaves = await log_leaves(pool)
        assert len(leaves) == 130
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT level, index, hash FROM audit_tree_nodes")
            stored = {(level, index): bytes(hash_) for level, index, hash_ in await cursor.fetchall()}
            cursor = await conn.execute("SELECT position FROM audit_tree_leaves ORDER BY leaf_index")
            assert [row[0] for row in await cursor.fetchall()] == await positions(pool)
        expected = {
            (level, index): mth(leaves[index << level : (index + 1) << level])
            for level in range(8)
            for index in range(130 >> level)
        }
        assert stored == expected

    async def test_every_proof_of_every_tree_up_to_130_events_verifies(self, pool: Pool, deps: Dependencies) -> None:
        await fill(pool, 130)
        await grow(pool, batch=13)
        leaves, at = await log_leaves(pool), await positions(pool)
        roots = [mth(leaves[:size]) for size in range(131)]
        for size in range(1, 131):
            for index in range(size):
                proof = await inclusion_proof(at[index], size, ADMIN, deps.digests)
                check_inclusion(leaves, proof, index, size, roots[size])
            for old in range(1, size + 1):
                found = [bytes.fromhex(h) for h in (await consistency_proof(old, size, ADMIN, deps.digests)).proof]
                assert verify_consistency(old, size, roots[old], roots[size], found), (old, size)

    @pytest.mark.timeout(300)
    async def test_random_sizes_up_to_100000_events(self, pool: Pool, deps: Dependencies) -> None:
        await fill(pool, 100_000)
        await grow(pool)
        leaves, at = await log_leaves(pool), await positions(pool)

        @cache
        def root(size: int) -> bytes:
            return mth(leaves[:size])

        digest = await latest_digest(ADMIN, deps.digests)
        assert (digest.tree_size, digest.root_hash) == (100_000, root(100_000).hex())
        key = public_key(ADMIN, deps.digests)
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key)).verify(
            base64.b64decode(digest.signature), digest.signed_payload.encode()
        )
        assert key.key_id == hashlib.sha256(base64.b64decode(key.public_key)).hexdigest()
        chosen = random.Random(22)
        sizes = [100_000, 65_536, 65_537, *(chosen.randint(1, 100_000) for _ in range(6))]
        for size in sizes:
            for index in {0, size - 1, *(chosen.randrange(size) for _ in range(5))}:
                proof = await inclusion_proof(at[index], size, ADMIN, deps.digests)
                check_inclusion(leaves, proof, index, size, root(size))
            old = chosen.randint(1, size)
            found = [bytes.fromhex(h) for h in (await consistency_proof(old, size, ADMIN, deps.digests)).proof]
            assert verify_consistency(old, size, root(old), root(size), found), (old, size)

"""The audit handlers on the in-memory adapters: admins only, a digest signed over the log's root, proofs that
verify, and what is refused."""

import base64

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from application.audit_proofs import (
    consistency_proof,
    inclusion_proof,
    latest_digest,
    public_key,
    signed_facts,
)
from application.context import RequestContext
from application.errors import Forbidden, InvalidInput, NotFound
from domain.values import Role
from tests.rfc6962_verifier import leaf, mth, verify_consistency, verify_inclusion
from tests.unit.test_handlers import World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def admin(world: World) -> RequestContext:
    return await world.register("admin@example.com", Role.ADMIN)


async def test_users_are_refused(world: World) -> None:
    alice = await world.register("alice@example.com")
    with pytest.raises(Forbidden):
        await latest_digest(alice, world.deps.digests)
    with pytest.raises(Forbidden):
        public_key(alice, world.deps.digests)
    with pytest.raises(Forbidden):
        await inclusion_proof(1, 1, alice, world.deps.digests)
    with pytest.raises(Forbidden):
        await consistency_proof(1, 1, alice, world.deps.digests)


async def test_the_digest_signs_the_root_of_the_log_and_proofs_verify_against_it(
    world: World, admin: RequestContext
) -> None:
    for n in range(5):
        await world.create(admin, f"task {n}")
    leaves = [leaf(record.hash) for record in world.log.events]
    digest = await latest_digest(admin, world.deps.digests)
    assert (digest.tree_size, digest.root_hash) == (len(leaves), mth(leaves).hex())
    assert (
        digest.signed_payload
        == msgspec.json.encode(
            {"rootHash": digest.root_hash, "signedAt": digest.signed_at, "treeSize": digest.tree_size}, order="sorted"
        ).decode()
    )
    key = public_key(admin, world.deps.digests)
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key)).verify(
        base64.b64decode(digest.signature), digest.signed_payload.encode()
    )
    assert signed_facts(digest).tree_size == len(leaves)
    for index, record in enumerate(world.log.events):
        proof = await inclusion_proof(record.position, len(leaves), admin, world.deps.digests)
        path = [bytes.fromhex(h) for h in proof.audit_path]
        assert verify_inclusion(leaves[index], index, len(leaves), path, mth(leaves))
    found = [bytes.fromhex(h) for h in (await consistency_proof(2, len(leaves), admin, world.deps.digests)).proof]
    assert verify_consistency(2, len(leaves), mth(leaves[:2]), mth(leaves), found)


async def test_what_is_refused(world: World, admin: RequestContext) -> None:
    await world.create(admin)
    size = len(world.log.events)
    first, last = world.log.events[0].position, world.log.events[-1].position
    with pytest.raises(InvalidInput, match="beyond the tree") as beyond:
        await inclusion_proof(first, size + 1, admin, world.deps.digests)
    assert beyond.value.field == "treeSize"
    with pytest.raises(NotFound):
        await inclusion_proof(last + 1, size, admin, world.deps.digests)
    with pytest.raises(NotFound):
        await inclusion_proof(last, size - 1, admin, world.deps.digests)
    with pytest.raises(InvalidInput):
        await consistency_proof(2, 1, admin, world.deps.digests)
    with pytest.raises(InvalidInput):
        await consistency_proof(0, 1, admin, world.deps.digests)
    with pytest.raises(InvalidInput) as too_far:
        await consistency_proof(1, size + 1, admin, world.deps.digests)
    assert too_far.value.field == "to"
    digest = await latest_digest(admin, world.deps.digests)
    with pytest.raises(InvalidInput, match="differ from its signed payload"):
        signed_facts(msgspec.structs.replace(digest, tree_size=1))
    with pytest.raises(InvalidInput):
        signed_facts(msgspec.structs.replace(digest, signed_payload="[]"))

"""Signed digests of the log's Merkle tree, and RFC 6962 proofs against them, for auditors (admins only)."""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from application import rfc6962
from application.context import RequestContext
from application.errors import Forbidden, InvalidInput, NotFound, ServiceUnavailable
from application.ports import AuditTree, Clock, DigestSigner
from application.tasks import acting_user

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DigestDeps:
    """What the digests and proofs use: the audit follower's tree, the signing key, the clock."""

    tree: AuditTree
    signer: DigestSigner
    clock: Clock


class Digest(msgspec.Struct, frozen=True, rename="camel"):
    tree_size: int
    root_hash: str
    signed_at: str
    signed_payload: str
    signature: str
    key_id: str


class SignedFacts(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    """What a digest's signed payload says."""

    root_hash: str
    signed_at: str
    tree_size: int


class PublicKey(msgspec.Struct, frozen=True, rename="camel"):
    key_id: str
    public_key: str


class InclusionProof(msgspec.Struct, frozen=True, rename="camel"):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]


class ConsistencyProof(msgspec.Struct, frozen=True):
    proof: list[str]


def _require_admin(ctx: RequestContext) -> None:
    if not acting_user(ctx).is_admin:
        raise Forbidden("the audit proofs are for admins")


async def _computed(tree: AuditTree, compute: Callable[[rfc6962.NodeLookup], T]) -> T:
    """Run `compute` over the stored tree, having read every node it needs in one query."""
    wanted = rfc6962.needed_nodes(compute)
    found = await tree.nodes(wanted)
    if len(found) < len(wanted):  # nodes of a size the tree has reached are never removed; the table was damaged
        raise ServiceUnavailable("audit tree")
    return compute(lambda level, index: found[(level, index)])


async def _within_tree(tree: AuditTree, field: str, size: int) -> None:
    held = await tree.size()
    if size > held:
        raise InvalidInput(field, f"is beyond the tree, which holds {held} events")


def canonical_payload(tree_size: int, root: bytes, signed_at: str) -> str:
    """The signed JSON: keys sorted, no spaces."""
    facts = {"rootHash": root.hex(), "signedAt": signed_at, "treeSize": tree_size}
    return msgspec.json.encode(facts, order="sorted").decode()


async def make_digest(tree: AuditTree, signer: DigestSigner, now: datetime) -> Digest:
    """Sign the tree as the audit follower has it now: always the newest tree, and nothing signed is stored (no table
    of digests to grow or roll back; the follower never handles the key)."""
    size = await tree.size()
    root = await _computed(tree, lambda node: rfc6962.root(size, node))
    signed_at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = canonical_payload(size, root, signed_at)
    signature = base64.b64encode(signer.sign(payload.encode())).decode()
    return Digest(size, root.hex(), signed_at, payload, signature, signer.key_id)


def signed_facts(digest: Digest) -> SignedFacts:
    """What the digest's signed payload says, refused when its unsigned fields say otherwise. Check the signature
    first: only the payload is signed."""
    try:
        facts = msgspec.json.decode(digest.signed_payload, type=SignedFacts, strict=True)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInput("signedPayload", "is not a digest's payload") from exc
    if (facts.tree_size, facts.root_hash, facts.signed_at) != (digest.tree_size, digest.root_hash, digest.signed_at):
        raise InvalidInput("digest", "its treeSize, rootHash or signedAt differ from its signed payload")
    return facts


async def latest_digest(ctx: RequestContext, deps: DigestDeps) -> Digest:
    _require_admin(ctx)
    return await make_digest(deps.tree, deps.signer, deps.clock.now())


def public_key(ctx: RequestContext, deps: DigestDeps) -> PublicKey:
    _require_admin(ctx)
    signer = deps.signer
    return PublicKey(signer.key_id, base64.b64encode(signer.public_key).decode())


async def inclusion_proof(position: int, tree_size: int, ctx: RequestContext, deps: DigestDeps) -> InclusionProof:
    """The audit path of the event at `position` in the tree of `tree_size` leaves (RFC 6962 2.1.1)."""
    _require_admin(ctx)
    tree = deps.tree
    if tree_size < 1:
        raise InvalidInput("treeSize", "must be at least 1")
    await _within_tree(tree, "treeSize", tree_size)
    leaf = await tree.leaf_index(position)
    if leaf is None or leaf >= tree_size:
        raise NotFound("no event at this position in a tree of this size")
    leaf_hash, path = await _computed(tree, lambda node: (node(0, leaf), rfc6962.inclusion_path(leaf, tree_size, node)))
    return InclusionProof(leaf, tree_size, leaf_hash.hex(), [hash_.hex() for hash_ in path])


async def consistency_proof(first: int, second: int, ctx: RequestContext, deps: DigestDeps) -> ConsistencyProof:
    """The proof that the tree of `second` leaves extends the tree of `first` (RFC 6962 2.1.2)."""
    _require_admin(ctx)
    if first < 1:
        raise InvalidInput("from", "must be at least 1")
    if first > second:
        raise InvalidInput("from", "must not be larger than to")
    tree = deps.tree
    await _within_tree(tree, "to", second)
    proof = await _computed(tree, lambda node: rfc6962.consistency_proof(first, second, node))
    return ConsistencyProof([hash_.hex() for hash_ in proof])

"""Admin routes for auditors: the signed digest of the log's Merkle tree, its public key, and RFC 6962 proofs."""

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from api.dependencies import Context, Digests
from api.hooks import authenticated
from api.openapi import BEARER, problems
from application.audit_proofs import (
    ConsistencyProof,
    Digest,
    InclusionProof,
    PublicKey,
    consistency_proof,
    inclusion_proof,
    latest_digest,
    public_key,
)

# Positions and tree sizes are bigints in the database; past that, a 400 rather than a driver error.
LARGEST = 2**63 - 1


class AuditController(Controller):
    path = "/admin/audit"
    before_request = staticmethod(authenticated)
    tags = ["admin"]
    security = BEARER

    @get("/digest", operation_id="getAuditDigest", responses=problems(401, 403, 429, 503))
    async def digest(self, ctx: Context, digests: Digests) -> Digest:
        """The log's Merkle tree (RFC 6962) as of now, signed with Ed25519: keep it elsewhere, check the log later."""
        return await latest_digest(ctx, digests)

    @get("/public-key", operation_id="getAuditPublicKey", responses=problems(401, 403, 429, 503))
    async def public_key(self, ctx: Context, digests: Digests) -> PublicKey:
        """The Ed25519 public key that verifies the digests (32 raw bytes, base64) and its id."""
        return public_key(ctx, digests)

    @get("/inclusion", operation_id="getAuditInclusionProof", responses=problems(400, 401, 403, 404, 429, 503))
    async def inclusion(
        self,
        ctx: Context,
        digests: Digests,
        position: Annotated[int, QueryParameter(name="position", ge=1, le=LARGEST)],
        tree_size: Annotated[int, QueryParameter(name="treeSize", ge=1, le=LARGEST)],
    ) -> InclusionProof:
        """The audit path of the event at `position` in the tree of `treeSize` events (404: not in that tree)."""
        return await inclusion_proof(position, tree_size, ctx, digests)

    @get("/consistency", operation_id="getAuditConsistencyProof", responses=problems(400, 401, 403, 429, 503))
    async def consistency(
        self,
        ctx: Context,
        digests: Digests,
        first: Annotated[int, QueryParameter(name="from", ge=1, le=LARGEST)],
        second: Annotated[int, QueryParameter(name="to", ge=1, le=LARGEST)],
    ) -> ConsistencyProof:
        """The proof that the tree of `to` events extends the tree of `from` events (both within the tree)."""
        return await consistency_proof(first, second, ctx, digests)

"""The auditors' routes over HTTP: a signed digest and its key, RFC 6962 proofs that verify against it, admins only,
and bad parameters answered as problems (never a 500)."""

import asyncio
import base64
import hashlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from infrastructure.postgres.audit_tree import AuditTreeFollower
from infrastructure.postgres.followers import run_batch
from infrastructure.postgres.pool import open_pool
from infrastructure.settings import Settings
from tests.e2e.helpers import Client, bearer, create_task
from tests.e2e.processes import servers_environment, stop_all
from tests.rfc6962_verifier import leaf, mth, verify_consistency, verify_inclusion

Session = dict[str, Any]
ROUTES = (
    "/admin/audit/digest",
    "/admin/audit/public-key",
    "/admin/audit/inclusion?position=1&treeSize=1",
    "/admin/audit/consistency?from=1&to=1",
)


async def grow(settings: Settings) -> list[tuple[int, bytes]]:
    """Let the follower take in the log; the (position, stored hash) of every event, in commit order."""
    assert settings.database_url
    async with open_pool(settings.database_url, size=2, checkout_seconds=5) as pool:
        while await run_batch(pool, AuditTreeFollower()):
            pass
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT position, hash FROM events ORDER BY transaction_id, position")
            return [(position, bytes(hash_)) for position, hash_ in await cursor.fetchall()]


def start_projector(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        command = [sys.executable, "-m", "cli", "projector"]
        return subprocess.Popen(command, env=servers_environment(settings), stdout=output, stderr=output)


async def get(client: Client, admin: Session, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=bearer(admin))
    assert response.status_code == 200, response.text
    return response.json()


class TestAuditRoutes:
    async def test_admins_only(self, client: Client, alice: Session) -> None:
        for route in ROUTES:
            assert (await client.get(route)).status_code == 401, route
            refused = await client.get(route, headers=bearer(alice))
            assert refused.status_code == 403, route
            assert refused.headers["content-type"].startswith("application/problem+json")

    async def test_a_digest_verifies_with_the_public_key_and_proofs_verify_against_it(
        self, client: Client, admin: Session, alice: Session, settings: Settings
    ) -> None:
        for n in range(4):
            await create_task(client, alice, title=f"task {n}")
        old = await get(client, admin, "/admin/audit/digest")
        await create_task(client, alice, title="one more")
        log = await grow(settings)
        digest = await get(client, admin, "/admin/audit/digest")
        key = await get(client, admin, "/admin/audit/public-key")
        public = base64.b64decode(key["publicKey"])
        assert key["keyId"] == digest["keyId"] == hashlib.sha256(public).hexdigest()
        Ed25519PublicKey.from_public_bytes(public).verify(
            base64.b64decode(digest["signature"]), digest["signedPayload"].encode()
        )
        size, root = digest["treeSize"], bytes.fromhex(digest["rootHash"])
        assert size == len(log) == 7  # two registrations, five tasks
        assert digest["signedPayload"] == (
            f'{{"rootHash":"{digest["rootHash"]}","signedAt":"{digest["signedAt"]}","treeSize":{size}}}'
        )
        assert old["treeSize"] == 0, "nothing was followed yet"
        for index, (position, hash_) in enumerate(log):
            proof = await get(client, admin, "/admin/audit/inclusion", position=position, treeSize=size)
            assert proof["leafHash"] == leaf(hash_).hex()
            path = [bytes.fromhex(h) for h in proof["auditPath"]]
            assert verify_inclusion(leaf(hash_), index, size, path, root)
        earlier = await get(client, admin, "/admin/audit/inclusion", position=log[2][0], treeSize=3)
        assert earlier["leafIndex"] == 2
        for first in range(1, size + 1):
            proof = await get(client, admin, "/admin/audit/consistency", **{"from": first, "to": size})
            first_root = mth([leaf(hash_) for _, hash_ in log[:first]])
            assert verify_consistency(first, size, first_root, root, [bytes.fromhex(h) for h in proof["proof"]])

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            ("inclusion?position=1&treeSize=0", 400),
            ("inclusion?position=0&treeSize=1", 400),
            ("inclusion?position=1&treeSize=99", 400),
            ("inclusion?position=99&treeSize=2", 404),
            ("inclusion?position={second}&treeSize=1", 404),
            ("inclusion?position=1", 400),
            ("inclusion?position=x&treeSize=1", 400),
            ("inclusion?position=1&treeSize=100000000000000000000000", 400),
            ("consistency?from=0&to=1", 400),
            ("consistency?from=2&to=1", 400),
            ("consistency?from=1&to=99", 400),
            ("consistency?from=1", 400),
            ("consistency?from=1&to=-1", 400),
        ],
    )
    async def test_bad_parameters_are_problems(
        self, client: Client, admin: Session, alice: Session, settings: Settings, query: str, status: int
    ) -> None:
        log = await grow(settings)  # two registrations: a tree of 2
        response = await client.get(f"/admin/audit/{query.format(second=log[1][0])}", headers=bearer(admin))
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_the_projector_keeps_the_tree(
        self, client: Client, admin: Session, alice: Session, settings: Settings, tmp_path: Path
    ) -> None:
        await create_task(client, alice)
        projector = start_projector(settings, tmp_path / "projector.log")
        try:
            deadline = time.monotonic() + 30
            while (await get(client, admin, "/admin/audit/digest"))["treeSize"] < 3:  # two registrations, a task
                assert time.monotonic() < deadline, (tmp_path / "projector.log").read_text()
                await asyncio.sleep(0.2)
        finally:
            stop_all([projector])

    async def test_the_routes_are_in_the_openapi_document(self, client: Client) -> None:
        paths = (await client.get("/schema/openapi.json")).json()["paths"]
        for route in ROUTES:
            operation = paths[route.split("?")[0]]["get"]
            assert operation["tags"] == ["admin"]
            assert {"401", "403"} <= set(operation["responses"])
            assert "application/problem+json" in operation["responses"]["403"]["content"]

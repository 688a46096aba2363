"""What only the signing key can produce (a token's claims, a cursor's payload) is still input: a correctly signed
value out of range or of the wrong kind is a 401 or a 400, never a 500."""

import base64
import hashlib
import hmac
from typing import Any

import jwt
import msgspec
import pytest

from application.cursors import sign
from tests.conftest import TEST_SECRET
from tests.e2e.helpers import Client, assert_problem, bearer, create_task

Session = dict[str, Any]
CURSOR_SECRET = hashlib.sha256(b"keyset-cursor:" + TEST_SECRET).digest()


def signed(claims: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, TEST_SECRET, algorithm='HS256')}"}


def signed_raw(claims_json: bytes) -> dict[str, str]:
    """A token whose claims are this exact JSON text (Infinity and NaN included), correctly signed."""
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(claims_json).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(TEST_SECRET, header + b"." + payload, "sha256").digest())
    return {"Authorization": f"Bearer {(header + b'.' + payload + b'.' + signature.rstrip(b'=')).decode()}"}


class TestTokenClaimsOutOfRange:
    @pytest.mark.parametrize(
        "change",
        [{"exp": 10**20}, {"exp": 1e300}, {"exp": -(10**20)}, {"iat": 10**20}, {"nbf": 10**20}, {"exp": "soon"}],
    )
    async def test_a_signed_claim_out_of_range_is_401(
        self, client: Client, alice: Session, change: dict[str, Any]
    ) -> None:
        claims = jwt.decode(alice["accessToken"], options={"verify_signature": False})
        response = await client.get("/auth/me", headers=signed(claims | change))
        assert_problem(response, 401)

    @pytest.mark.parametrize("value", [b"Infinity", b"-Infinity", b"NaN", b"1e400"])
    async def test_a_signed_exp_that_is_no_number_is_401(self, client: Client, alice: Session, value: bytes) -> None:
        claims = jwt.decode(alice["accessToken"], options={"verify_signature": False})
        text = msgspec.json.encode(claims | {"exp": 0}).replace(b'"exp":0', b'"exp":' + value)
        response = await client.get("/auth/me", headers=signed_raw(text))
        assert_problem(response, 401)


class TestCursorKeysOutOfRange:
    async def cursor_with(self, client: Client, alice: Session, sort: str, **changes: Any) -> str:
        """A real next-page cursor of `sort`, its payload changed, signed again with the service's key."""
        page = (await client.get("/tasks", params={"sort": sort, "limit": 1}, headers=bearer(alice))).json()
        payload_text = page["nextCursor"].split(".")[0]
        fields = msgspec.json.decode(base64.urlsafe_b64decode(payload_text + "=" * (-len(payload_text) % 4)))
        order = ["query", "key", "id", "began_at", "snapshot", "epoch"]
        for name, value in changes.items():
            fields[order.index(name)] = value
        payload = msgspec.json.encode(fields)
        encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        return f"{encoded}.{base64.urlsafe_b64encode(sign(CURSOR_SECRET, payload)).rstrip(b'=').decode()}"

    @pytest.mark.parametrize(
        ("sort", "key"),
        [
            ("createdAt", 10**30),
            ("createdAt", 7),
            ("createdAt", None),
            ("-updatedAt", -(10**30)),
            ("dueDate", 10**30),
            ("dueDate", 1),
            ("-priority", 10**30),
            ("-priority", 7),
            ("-priority", "2026-01-01T00:00:00Z"),
            ("-priority", None),
        ],
    )
    async def test_a_key_that_does_not_fit_the_sort_is_400(
        self, client: Client, alice: Session, sort: str, key: Any
    ) -> None:
        for title in ("one", "two"):
            await create_task(client, alice, title=title, dueDate="2030-01-01T00:00:00Z")
        cursor = await self.cursor_with(client, alice, sort, key=key)
        response = await client.get(
            "/tasks", params={"sort": sort, "limit": 1, "cursor": cursor}, headers=bearer(alice)
        )
        problem = assert_problem(response, 400)
        assert [error["field"] for error in problem["errors"]] == ["cursor"]

    @pytest.mark.parametrize("snapshot", ["not:a:snapshot", "1:2:3'; SELECT 1", "9" * 40 + ":1:"])
    async def test_a_snapshot_that_is_no_snapshot_is_400(self, client: Client, alice: Session, snapshot: str) -> None:
        for title in ("one", "two"):
            await create_task(client, alice, title=title)
        cursor = await self.cursor_with(client, alice, "createdAt", snapshot=snapshot)
        response = await client.get(
            "/tasks", params={"sort": "createdAt", "limit": 1, "cursor": cursor}, headers=bearer(alice)
        )
        problem = assert_problem(response, 400)
        assert [error["field"] for error in problem["errors"]] == ["cursor"]

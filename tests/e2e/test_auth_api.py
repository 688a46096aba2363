"""Registration, login and the bearer token over HTTP."""

from typing import Any

import jwt

from tests.conftest import TEST_SECRET
from tests.e2e.helpers import PASSWORD, Client, bearer, register

Session = dict[str, Any]


class TestRegister:
    async def test_returns_the_user_and_a_bearer_token(self, client: Client) -> None:
        response = await client.post(
            "/auth/register", json={"email": "  Ada@Example.COM ", "name": "Ada", "password": PASSWORD}
        )
        assert response.status_code == 201
        body = response.json()
        assert body["user"]["email"] == "ada@example.com"
        assert body["user"]["role"] == "user"
        assert (body["tokenType"], body["expiresIn"]) == ("Bearer", 900)
        claims = jwt.decode(body["accessToken"], TEST_SECRET, algorithms=["HS256"], audience="taskflow-api")
        assert claims["sub"] == body["user"]["id"]
        assert set(claims) == {"sub", "role", "jti", "iat", "exp", "iss", "aud"}

    async def test_a_taken_email_is_409_whatever_its_case(self, client: Client) -> None:
        await register(client, "ada@example.com")
        again = await client.post(
            "/auth/register", json={"email": "ADA@example.com", "name": "Ada 2", "password": PASSWORD}
        )
        assert again.status_code == 409

    async def test_role_is_refused(self, client: Client) -> None:
        response = await client.post(
            "/auth/register", json={"email": "eve@example.com", "name": "Eve", "password": PASSWORD, "role": "admin"}
        )
        assert response.status_code == 400
        assert response.json()["errors"] == [{"field": "role", "message": "is not a known field"}]

    async def test_password_length_is_8_to_128(self, client: Client) -> None:
        for password in ("x" * 7, "x" * 129):
            response = await client.post(
                "/auth/register", json={"email": "p@example.com", "name": "P", "password": password}
            )
            assert response.status_code == 400
            assert response.json()["errors"][0]["field"] == "password"


class TestLogin:
    async def test_the_right_password_logs_in(self, client: Client, alice: Session) -> None:
        response = await client.post("/auth/login", json={"email": "ALICE@example.com", "password": PASSWORD})
        assert response.status_code == 200
        assert response.json()["user"] == alice["user"]

    async def test_unknown_email_and_wrong_password_look_the_same(self, client: Client, alice: Session) -> None:
        wrong = await client.post("/auth/login", json={"email": "alice@example.com", "password": "not it at all"})
        unknown = await client.post("/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["detail"] == unknown.json()["detail"]
        assert wrong.headers["www-authenticate"].startswith("Bearer")


class TestBearerToken:
    async def test_me_is_the_caller(self, client: Client, alice: Session) -> None:
        response = await client.get("/auth/me", headers=bearer(alice))
        assert response.json() == alice["user"]

    async def test_missing_malformed_and_forged_tokens_are_401(self, client: Client, alice: Session) -> None:
        claims = jwt.decode(alice["accessToken"], options={"verify_signature": False})
        forged = jwt.encode(claims | {"role": "admin"}, "another secret of enough length, 32+", algorithm="HS256")
        unsigned = jwt.encode(claims, "", algorithm="none")  # "" is no key to PyJWT
        expired = jwt.encode(claims | {"exp": claims["iat"] - 60}, TEST_SECRET, algorithm="HS256")
        wrong_audience = jwt.encode(claims | {"aud": "elsewhere"}, TEST_SECRET, algorithm="HS256")
        for headers in (
            {},
            {"Authorization": "Basic abc"},
            {"Authorization": "Bearer "},
            {"Authorization": "Bearer not.a.jwt"},
            {"Authorization": f"Bearer {forged}"},
            {"Authorization": f"Bearer {unsigned}"},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"Bearer {wrong_audience}"},
        ):
            response = await client.get("/tasks", headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"].startswith("Bearer")

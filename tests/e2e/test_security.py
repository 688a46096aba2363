"""Each test attacks one promise of the security contract."""

import asyncio
import base64
import dataclasses
import inspect
import logging
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import jwt
import msgspec
import psycopg
import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.dependencies import provide_caller
from api.hooks import authenticated
from application.context import Actor
from application.sessions import REUSE_GRACE
from domain.values import Role
from infrastructure.clock import SystemClock
from infrastructure.security import JwtTokens
from infrastructure.settings import Settings
from tests.conftest import TEST_SECRET
from tests.e2e.helpers import PASSWORD, Client, bearer, create_task, register
from tests.e2e.processes import free_port, servers_environment, taskflow
from tests.integration.wiring import replaced

Session = dict[str, Any]


class LaterClock:
    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return SystemClock().now() + self.offset


def later(client: Client, offset: timedelta) -> None:
    """Move the running app's clock forward (tokens are still checked against real time, within leeway)."""
    runtime = client.app.state.runtime
    client.app.state.runtime = dataclasses.replace(runtime, deps=replaced(runtime.deps, clock=LaterClock(offset)))


async def log_in(client: Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


class TestForgedAccessTokens:
    # An HS512 forgery is signed with the deployment's own (HS256-sized) key: PyJWT warns that it is short for HS512.
    @pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
    async def test_every_forgery_is_401(self, client: Client, alice: Session) -> None:
        claims = jwt.decode(alice["accessToken"], options={"verify_signature": False})
        admin_claims = claims | {"role": "admin"}
        header, payload, signature = alice["accessToken"].split(".")
        swapped_header = msgspec.json.encode({"alg": "none", "typ": "JWT"})
        none_header = base64.urlsafe_b64encode(swapped_header).rstrip(b"=").decode()
        forgeries = {
            "alg none": jwt.encode(admin_claims, "", algorithm="none"),  # "" is no key to PyJWT
            "alg none, original signature": f"{none_header}.{payload}.{signature}",
            "alg none, no signature": f"{none_header}.{payload}.",
            "another HMAC algorithm": jwt.encode(claims, TEST_SECRET, algorithm="HS512"),
            "tampered claims": f"{header}.{jwt.encode(admin_claims, 'k' * 32).split('.')[1]}.{signature}",
            "another key": jwt.encode(admin_claims, "another secret that is long enough!", algorithm="HS256"),
            "wrong issuer": jwt.encode(claims | {"iss": "evil"}, TEST_SECRET, algorithm="HS256"),
            "wrong audience": jwt.encode(claims | {"aud": "other-api"}, TEST_SECRET, algorithm="HS256"),
            "expired": jwt.encode(claims | {"exp": claims["iat"] - 3600}, TEST_SECRET, algorithm="HS256"),
            "no jti": jwt.encode({k: v for k, v in claims.items() if k != "jti"}, TEST_SECRET, algorithm="HS256"),
            "unknown role": jwt.encode(claims | {"role": "root"}, TEST_SECRET, algorithm="HS256"),
            "sub not a uuid": jwt.encode(claims | {"sub": "1 OR 1=1"}, TEST_SECRET, algorithm="HS256"),
            "garbage": "x" * 50,
            "empty segments": "..",
        }
        for name, token in forgeries.items():
            response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, name
            assert response.headers["www-authenticate"].startswith("Bearer"), name

    async def test_the_genuine_token_still_works(self, client: Client, alice: Session) -> None:
        assert (await client.get("/auth/me", headers=bearer(alice))).status_code == 200


class TestRefreshRotation:
    async def test_refresh_returns_a_new_pair_and_spends_the_old_token(self, client: Client, alice: Session) -> None:
        response = await client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]})
        assert response.status_code == 200
        renewed = response.json()
        assert renewed["refreshToken"] != alice["refreshToken"]
        assert renewed["accessToken"] != alice["accessToken"]
        assert (await client.get("/auth/me", headers=bearer(renewed))).json() == alice["user"]
        assert len(renewed["refreshToken"]) >= 43  # 256 bits, base64url

    async def test_reuse_of_a_spent_token_revokes_the_whole_family(self, client: Client, alice: Session) -> None:
        thief = (await client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]})).json()
        later(client, REUSE_GRACE + timedelta(seconds=1))
        replay = await client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]})
        assert replay.status_code == 401
        after = await client.post("/auth/refresh", json={"refreshToken": thief["refreshToken"]})
        assert after.status_code == 401

    async def test_a_replay_within_the_grace_is_refused_but_not_punished(self, client: Client, alice: Session) -> None:
        renewed = (await client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]})).json()
        replay = await client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]})
        assert replay.status_code == 401
        assert (await client.post("/auth/refresh", json={"refreshToken": renewed["refreshToken"]})).status_code == 200

    async def test_another_login_is_another_family(self, client: Client, alice: Session) -> None:
        second = (await log_in(client, "alice@example.com")).json()
        await client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]})
        later(client, REUSE_GRACE + timedelta(seconds=1))
        await client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]})  # reuse: family 1 dies
        survivor = await client.post("/auth/refresh", json={"refreshToken": second["refreshToken"]})
        assert survivor.status_code == 200

    async def test_concurrent_refreshes_of_one_token_exactly_one_wins(self, client: Client, alice: Session) -> None:
        responses = await asyncio.gather(
            *(client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]}) for _ in range(8))
        )
        assert sorted(r.status_code for r in responses) == [200] + [401] * 7

    async def test_unknown_and_malformed_refresh_tokens_are_401_or_400(self, client: Client) -> None:
        unknown = await client.post("/auth/refresh", json={"refreshToken": secrets.token_urlsafe(32)})
        assert unknown.status_code == 401
        empty = await client.post("/auth/refresh", json={"refreshToken": ""})
        assert empty.status_code == 400

    async def test_refresh_tokens_are_stored_only_as_hashes(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        assert settings.database_url
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            cursor = await conn.execute("SELECT token_hash FROM refresh_tokens")
            stored = [bytes(row[0]) for row in await cursor.fetchall()]
        assert stored
        assert all(alice["refreshToken"].encode() not in value for value in stored)


class TestLogout:
    async def test_both_tokens_are_refused_afterwards(self, client: Client, alice: Session) -> None:
        response = await client.post(
            "/auth/logout", json={"refreshToken": alice["refreshToken"]}, headers=bearer(alice)
        )
        assert response.status_code == 204
        assert (await client.get("/auth/me", headers=bearer(alice))).status_code == 401
        refreshed = await client.post("/auth/refresh", json={"refreshToken": alice["refreshToken"]})
        assert refreshed.status_code == 401

    async def test_other_sessions_stay_logged_in(self, client: Client, alice: Session) -> None:
        other = (await log_in(client, "alice@example.com")).json()
        await client.post("/auth/logout", json={"refreshToken": alice["refreshToken"]}, headers=bearer(alice))
        assert (await client.get("/auth/me", headers=bearer(other))).status_code == 200

    async def test_a_revoked_token_stays_refused_when_redis_forgets(
        self, client: Client, alice: Session, settings: Settings
    ) -> None:
        await client.post("/auth/logout", json={"refreshToken": alice["refreshToken"]}, headers=bearer(alice))
        assert settings.redis_url
        redis = aioredis.Redis.from_url(settings.redis_url)
        async with redis:
            keys = [key async for key in redis.scan_iter(f"{settings.redis_namespace}:{{u:*}}:access")]
            assert keys
            await redis.delete(*keys)
        assert (await client.get("/auth/me", headers=bearer(alice))).status_code == 401

    async def test_logout_needs_the_bearer_token(self, client: Client, alice: Session) -> None:
        response = await client.post("/auth/logout", json={"refreshToken": alice["refreshToken"]})
        assert response.status_code == 401


class TestRoles:
    async def test_users_may_not_administer(self, client: Client, alice: Session, bob: Session) -> None:
        assert (await client.get("/users", headers=bearer(alice))).status_code == 403
        role = await client.patch(f"/users/{alice['user']['id']}/role", json={"role": "admin"}, headers=bearer(alice))
        assert role.status_code == 403
        assert (await client.get(f"/users/{bob['user']['id']}", headers=bearer(alice))).status_code == 403
        assert (await client.get(f"/users/{alice['user']['id']}", headers=bearer(alice))).status_code == 200

    async def test_a_role_change_applies_from_the_next_token(
        self, client: Client, admin: Session, bob: Session
    ) -> None:
        changed = await client.patch(f"/users/{bob['user']['id']}/role", json={"role": "admin"}, headers=bearer(admin))
        assert changed.json()["role"] == "admin"
        # The token issued before the change is refused on the next request (it says "user"); a refresh issues one
        # with the new role.
        assert (await client.get("/auth/me", headers=bearer(bob))).status_code == 401
        renewed = (await client.post("/auth/refresh", json={"refreshToken": bob["refreshToken"]})).json()
        listed = await client.get("/users", headers=bearer(renewed))
        assert listed.status_code == 200
        assert {u["email"] for u in listed.json()["data"]} == {"admin@example.com", "bob@example.com"}

    async def test_a_demoted_admin_is_no_admin_on_the_next_request(
        self, client: Client, admin: Session, bob: Session
    ) -> None:
        promoted = await client.patch(f"/users/{bob['user']['id']}/role", json={"role": "admin"}, headers=bearer(admin))
        assert promoted.status_code == 200
        bob_admin = (await client.post("/auth/refresh", json={"refreshToken": bob["refreshToken"]})).json()
        assert (await client.get("/users", headers=bearer(bob_admin))).status_code == 200
        demoted = await client.patch(f"/users/{bob['user']['id']}/role", json={"role": "user"}, headers=bearer(admin))
        assert demoted.status_code == 200
        assert (await client.get("/users", headers=bearer(bob_admin))).status_code == 401
        back = await client.patch(f"/users/{bob['user']['id']}/role", json={"role": "admin"}, headers=bearer(bob_admin))
        assert back.status_code == 401, "the demoted admin's token cannot promote its user again"
        assert (await client.get(f"/users/{bob['user']['id']}", headers=bearer(admin))).json()["role"] == "user"
        bob_user = (await client.post("/auth/refresh", json={"refreshToken": bob_admin["refreshToken"]})).json()
        assert (await client.get("/users", headers=bearer(bob_user))).status_code == 403

    async def test_an_admin_may_not_change_their_own_role(self, client: Client, admin: Session) -> None:
        own = await client.patch(f"/users/{admin['user']['id']}/role", json={"role": "user"}, headers=bearer(admin))
        assert own.status_code == 403
        assert (await client.get("/users", headers=bearer(admin))).status_code == 200

    async def test_a_token_whose_subject_is_no_user_is_refused(self, client: Client, settings: Settings) -> None:
        forged = JwtTokens(settings.jwt_secret, 900, SystemClock()).issue(Actor(uuid4(), Role.ADMIN))
        assert (await client.get("/tasks", headers={"Authorization": f"Bearer {forged.token}"})).status_code == 401

    async def test_mass_assignment_is_refused(self, client: Client, alice: Session) -> None:
        created = await client.post(
            "/tasks",
            json={"title": "x", "id": "00000000-0000-4000-8000-000000000000", "version": 9},
            headers=bearer(alice),
        )
        assert created.status_code == 400
        assert {e["field"] for e in created.json()["errors"]} == {"id", "version"}


class TestBruteForce:
    def test_one_address_is_limited_while_another_still_logs_in(self, settings: Settings, tmp_path: Path) -> None:
        """Over real sockets: the attacker connects from 127.0.0.2, the victim from 127.0.0.3."""
        env = servers_environment(
            settings,
            PORT=str(free_port()),
        )
        with taskflow("serve", env, tmp_path / "serve.log") as (url, _):
            attacker = httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
            victim = httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address="127.0.0.3"))
            with attacker, victim:
                registered = victim.post(
                    "/auth/register", json={"email": "vic@example.com", "name": "Vic", "password": PASSWORD}
                )
                assert registered.status_code == 201
                guesses = [
                    attacker.post("/auth/login", json={"email": f"n{i}@example.com", "password": "guess it"})
                    for i in range(11)
                ]
                assert [r.status_code for r in guesses] == [401] * 10 + [429]
                limited = attacker.post("/auth/login", json={"email": "vic@example.com", "password": PASSWORD})
                assert limited.status_code == 429
                assert int(limited.headers["retry-after"]) > 0
                assert limited.headers["ratelimit-limit"] == "10"
                assert limited.headers["ratelimit-remaining"] == "0"
                assert int(limited.headers["ratelimit-reset"]) > 0
                assert limited.headers["content-type"] == "application/problem+json"
                welcome = victim.post("/auth/login", json={"email": "vic@example.com", "password": PASSWORD})
                assert welcome.status_code == 200

    async def test_registration_is_limited_per_address(self, client: Client) -> None:
        statuses = [
            (
                await client.post(
                    "/auth/register", json={"email": f"bot{i}@example.com", "name": "Bot", "password": PASSWORD}
                )
            ).status_code
            for i in range(11)
        ]
        assert statuses == [201] * 10 + [429]

    async def test_the_api_is_limited_per_user(self, settings: Settings) -> None:
        limited = msgspec.structs.replace(settings, api_rate_limit="3/minute")
        async with AsyncTestClient(app=create_app(limited)) as client:
            session = await register(client, "busy@example.com")
            statuses = [(await client.get("/tasks", headers=bearer(session))).status_code for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            other = await register(client, "calm@example.com")
            assert (await client.get("/tasks", headers=bearer(other))).status_code == 200


class TestRedisDown:
    async def test_login_limits_fall_back_to_the_process_and_tokens_stay_checked(self, settings: Settings) -> None:
        async with AsyncTestClient(app=create_app(settings)) as up:
            session = await register(up, "solo@example.com")
            await up.post("/auth/logout", json={"refreshToken": session["refreshToken"]}, headers=bearer(session))
        down = msgspec.structs.replace(settings, redis_url="redis://127.0.0.1:1/0", redis_timeout_seconds=0.2)
        async with AsyncTestClient(app=create_app(down)) as client:
            statuses = [(await log_in(client, "solo@example.com", "wrong password")).status_code for _ in range(6)]
            assert statuses == [401] * 5 + [429]
            assert (await client.get("/auth/me", headers=bearer(session))).status_code == 401
            fresh = await register(client, "second@example.com")
            assert (await client.get("/auth/me", headers=bearer(fresh))).status_code == 200


INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE events; --",
    "<script>alert(1)</script>",
    "%00",
    "../../etc/passwd",
    "{{7*7}}",
]


class TestHostileQueryParameters:
    @pytest.mark.parametrize("value", INJECTIONS)
    async def test_every_query_parameter_rejects_injection(self, client: Client, alice: Session, value: str) -> None:
        for parameter in ("status", "priority", "ownerId", "limit", "cursor"):
            response = await client.get("/tasks", params={parameter: value}, headers=bearer(alice))
            assert response.status_code == 400, (parameter, value, response.text)

    async def test_path_ids_reject_injection(self, client: Client, alice: Session) -> None:
        for value in INJECTIONS:
            response = await client.get(f"/tasks/{value}", headers=bearer(alice))
            assert response.status_code in (400, 404), value

    async def test_injection_in_a_title_is_stored_as_text(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, title="'); DELETE FROM tasks_view; --")
        got = await client.get(f"/tasks/{task['id']}", headers=bearer(alice))
        assert got.json()["title"] == "'); DELETE FROM tasks_view; --"


class TestErrorHygiene:
    async def test_an_unexpected_failure_is_a_bare_500(
        self, client: Client, alice: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        class Exploding:
            async def get(self, task_id: object) -> None:
                raise RuntimeError("psycopg: SELECT * FROM tasks_view failed at /app/infrastructure/x.py")

            async def list(self, listing: object) -> None:
                raise RuntimeError("boom")

        runtime = client.app.state.runtime
        client.app.state.runtime = dataclasses.replace(runtime, deps=replaced(runtime.deps, tasks=Exploding()))
        client.event_hooks["response"].clear()
        response = await client.get("/tasks/00000000-0000-4000-8000-000000000000", headers=bearer(alice))
        assert response.status_code == 500
        body = response.json()
        assert body["detail"] == "An unexpected error occurred; it has been logged."
        assert "psycopg" not in response.text
        assert "failed" not in response.text

    async def test_secrets_never_reach_the_logs(self, client: Client, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        session = await register(client, "quiet@example.com")
        await log_in(client, "quiet@example.com", "wrong password")
        await client.post("/auth/refresh", json={"refreshToken": session["refreshToken"]})
        logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
        for secret in (PASSWORD, session["accessToken"], session["refreshToken"], TEST_SECRET.decode()):
            assert secret not in logged


class TestHeaders:
    async def test_auth_responses_are_not_cached(self, client: Client, alice: Session) -> None:
        response = await log_in(client, "alice@example.com")
        assert response.headers["cache-control"] == "no-store"

    async def test_docs_have_a_strict_content_security_policy(self, client: Client) -> None:
        policy = (await client.get("/schema/swagger")).headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "'unsafe-inline'" not in policy
        assert "script-src 'self' 'sha256-" in policy
        assert "http" not in policy  # no other host

    async def test_cors_is_off_unless_configured(self, client: Client, settings: Settings) -> None:
        preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        response = await client.options("/tasks", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        allowed = msgspec.structs.replace(settings, cors_origins=("https://app.example",))
        async with AsyncTestClient(app=create_app(allowed)) as configured:
            ok = await configured.get("/health", headers={"Origin": "https://app.example"})
            assert ok.headers["access-control-allow-origin"] == "https://app.example"
            evil = await configured.get("/health", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in evil.headers


class TestHostileBodies:
    async def test_a_user_id_used_as_a_task_id_is_404(self, client: Client, alice: Session, admin: Session) -> None:
        own_id = alice["user"]["id"]
        assert (await client.get(f"/tasks/{own_id}", headers=bearer(alice))).status_code == 404
        assert (await client.patch(f"/tasks/{own_id}", json={"title": "x"}, headers=bearer(alice))).status_code == 404
        assert (await client.delete(f"/tasks/{own_id}", headers=bearer(alice))).status_code == 404
        batch = await client.post(
            "/tasks/batch", json={"action": "complete", "taskIds": [own_id]}, headers=bearer(alice)
        )
        assert batch.json()["results"][0]["error"]["status"] == 404
        task = await create_task(client, alice)
        role = await client.patch(f"/users/{task['id']}/role", json={"role": "admin"}, headers=bearer(admin))
        assert role.status_code == 404

    async def test_timestamps_are_kept_in_utc_and_in_range(self, client: Client, alice: Session) -> None:
        task = await create_task(client, alice, dueDate="2026-12-01T10:00:00+02:00")
        assert task["dueDate"] == "2026-12-01T08:00:00Z"
        got = await client.get(f"/tasks/{task['id']}", headers=bearer(alice))
        assert got.json()["dueDate"] == "2026-12-01T08:00:00Z"
        for far in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z"):
            response = await client.post("/tasks", json={"title": "x", "dueDate": far}, headers=bearer(alice))
            assert response.status_code == 400, far
            assert response.json()["errors"][0]["field"] == "dueDate"
        listed = await client.get("/tasks", params={"dueBefore": "9999-12-31T23:59:59-14:00"}, headers=bearer(alice))
        assert listed.status_code == 400

    async def test_nul_and_control_characters_are_refused(self, client: Client, alice: Session) -> None:
        cases = [
            ("/tasks", {"title": "t", "description": "a\u0000b"}, bearer(alice)),
            ("/auth/login", {"email": "a\u0000@x.com", "password": "whatever it is"}, {}),
            ("/auth/register", {"email": "a\u0000@x.com", "name": "N", "password": PASSWORD}, {}),
            ("/auth/refresh", {"refreshToken": "abc\u0000"}, {}),
        ]
        for path, body, headers in cases:
            response = await client.post(path, json=body, headers=headers)
            assert response.status_code == 400, (path, response.text)
        query = await client.get("/tasks", params={"q": "a\u0000"}, headers=bearer(alice))
        assert query.status_code == 400
        kept = await client.post("/tasks", json={"title": "t", "description": "line\n\tnext"}, headers=bearer(alice))
        assert kept.status_code == 201


def test_every_route_with_a_caller_authenticates_before_anything_else(settings: Settings) -> None:
    """A route that takes the authenticated caller (`ctx` from provide_caller) and lacks the hook answers 401 to
    everyone: every such route runs the `authenticated` hook (it checks the token before the input)."""
    app = create_app(settings)
    unguarded = [
        f"{sorted(handler.http_methods)} {route.path}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if "ctx" in inspect.signature(handler.fn).parameters
        and handler.resolve_dependencies()["ctx"].dependency is provide_caller
        and handler.resolve_before_request() is not authenticated
    ]
    assert unguarded == []

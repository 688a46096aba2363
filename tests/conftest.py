"""Shared fixtures: real PostgreSQL and Redis (the machine's, or embedded ones), a fresh database per test."""

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from infrastructure.postgres.migrations import apply_migrations
from infrastructure.processes.embedded_servers import embedded_postgres, embedded_redis
from infrastructure.settings import Settings

TEST_SECRET = b"test-secret-" + b"x" * 40
# The tests' audit signing key (32 bytes, as Ed25519 takes it).
TEST_AUDIT_KEY = b"test-audit-signing-key-" + b"k" * 9


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` (keeps the host, user and query, e.g. a socket dir)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """(admin PostgreSQL URL, Redis URL): TASKFLOW_TEST_* when set, else embedded servers in a temp dir."""
    with ExitStack() as stack:
        database_url = os.environ.get("TASKFLOW_TEST_DATABASE_URL")
        redis_url = os.environ.get("TASKFLOW_TEST_REDIS_URL")
        if not database_url or not redis_url:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="taskflow-test-")))
            database_url = database_url or stack.enter_context(embedded_postgres(data_dir))
            redis_url = redis_url or stack.enter_context(embedded_redis(data_dir))
        yield database_url, redis_url


@pytest.fixture(scope="session")
def template_database(servers: tuple[str, str]) -> Iterator[str]:
    """A migrated database that each test's fresh database is copied from."""
    admin_url, _ = servers
    name = f"taskflow_template_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    apply_migrations(with_database(admin_url, name))
    yield name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(admin_url: str, template_database: str) -> Iterator[str]:
    """A new, migrated database on the server of `admin_url`, dropped afterwards."""
    name = f"taskflow_test_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield with_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(servers: tuple[str, str], template_database: str) -> Iterator[str]:
    """A fresh, migrated database of this test's own."""
    with fresh_database(servers[0], template_database) as url:
        yield url


@pytest.fixture
def other_database_url(servers: tuple[str, str], template_database: str) -> Iterator[str]:
    """A second fresh database on the same server: another deployment's."""
    with fresh_database(servers[0], template_database) as url:
        yield url


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str]) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=servers[1],
        redis_namespace=f"test-{secrets.token_hex(6)}",
        jwt_secret=TEST_SECRET,
        audit_signing_key=TEST_AUDIT_KEY,
        argon2_memory_kib=1024,
        argon2_rounds=1,
        database_timeout_seconds=2.0,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client of the app; every error response it sees is checked for leaked internals."""
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        test_client.event_hooks["response"].append(refuse_leaked_internals)
        yield test_client


# Words that would betray the implementation if they reached a client in an error body.
INTERNALS = (
    "psycopg",
    "sqlstate",
    "traceback",
    "select ",
    "insert ",
    "constraint",
    "events_",
    "tasks_view",
    "users_view",
    "refresh_tokens",
    ".py",
    "litestar",
    "msgspec",
    "redis",
    "exception",
)


async def refuse_leaked_internals(response: httpx.Response) -> None:
    if response.status_code >= 400:
        body = (await response.aread()).decode(errors="replace").lower()
        leaked = [word for word in INTERNALS if word in body]
        assert not leaked, f"{response.request.method} {response.request.url} leaked {leaked}: {body}"

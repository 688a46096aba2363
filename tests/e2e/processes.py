"""Running `taskflow` as real processes for the tests that need real sockets."""

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from infrastructure.postgres.followers import HELD_LOCK
from infrastructure.settings import Settings
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET

START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 30.0

# The OS pids of the processes whose sessions hold the lock of the follower with %(lock_key)s in this database (a
# session's name ends in its process's pid). pg_locks covers the whole server, other deployments' locks included.
FOLLOWER_PIDS = f"""
SELECT split_part(a.application_name, ' pid ', 2)::int FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE {HELD_LOCK}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def base_environment(**overrides: str) -> dict[str, str]:
    own = ("HOST", "PORT", "PROMETHEUS_MULTIPROC_DIR")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKFLOW_") and k not in own}
    secrets = {
        "TASKFLOW_JWT_SECRET": TEST_SECRET.decode(),
        "TASKFLOW_AUDIT_SIGNING_KEY": base64.b64encode(TEST_AUDIT_KEY).decode(),
    }
    return clean | secrets | overrides


def servers_environment(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment of a `taskflow` process on this test's PostgreSQL, Redis and Redis namespace."""
    assert settings.database_url
    assert settings.redis_url
    servers = {
        "TASKFLOW_DATABASE_URL": settings.database_url,
        "TASKFLOW_REDIS_URL": settings.redis_url,
        "TASKFLOW_REDIS_NAMESPACE": settings.redis_namespace,
    }
    return base_environment(**(servers | overrides))


def stop_all(processes: Iterable[subprocess.Popen[bytes] | None], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM each process still running and wait for it; one that outstays `timeout` is killed (never left
    behind) and the test fails."""
    for process in processes:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                raise


@contextmanager
def taskflow(command: str, env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `taskflow COMMAND`, wait until /health answers, yield its base URL, and stop it with SIGTERM."""
    url = f"http://127.0.0.1:{env['PORT']}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", command], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield url, process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail("taskflow did not stop within the shutdown bound after SIGTERM")


@contextmanager
def background(command: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start `taskflow COMMAND` (one without a port: projector, scheduler, worker); SIGTERM it at the end."""
    with log.open("ab") as output:
        process = subprocess.Popen([sys.executable, "-m", "cli", command], env=env, stdout=output, stderr=output)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def login(url: str, email: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{url}/auth/login", json={"email": email, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}


async def run_taskflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`taskflow ARGS` to completion, off the event loop."""
    command = [sys.executable, "-m", "cli", *args]
    return await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60, check=False
    )

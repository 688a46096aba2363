"""Scale-out on one machine: two API processes, two workers, two schedulers and two projectors against one
PostgreSQL and one Redis. A write through one API is read fresh through the other, rate limits are shared, each
follower is active in exactly one process, and after one process of each kind is SIGKILLed the service is whole:
it serves, pays refunds, and keeps its projections current."""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg

from application.projections.registry import FOLLOWER_NAMES as FOLLOWERS
from infrastructure.postgres.followers import lock_key
from infrastructure.settings import Settings
from tests.e2e.processes import FOLLOWER_PIDS, background, free_port, servers_environment, taskflow

WAIT_SECONDS = 30.0


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def active_followers(database_url: str) -> dict[str, list[int]]:
    """Each follower's holders of its advisory lock: the pids named by their sessions."""
    with psycopg.connect(database_url) as conn:
        return {
            name: [pid for (pid,) in conn.execute(FOLLOWER_PIDS, {"lock_key": lock_key(name)}).fetchall()]
            for name in FOLLOWERS
        }


def test_two_of_each_process_and_one_of_each_killed(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url
    assert settings.redis_url
    database_url = settings.database_url
    env = servers_environment(
        settings,
        TASKFLOW_LOGIN_RATE_LIMIT="4/minute",
        TASKFLOW_JOB_REDELIVERY_SECONDS="15",
    )
    with ExitStack() as stack:
        apis = [
            stack.enter_context(
                taskflow(
                    "serve",
                    # The metrics directory under tmp_path: the API killed below cannot remove one of its own.
                    env | {"PORT": str(free_port()), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics{n}")},
                    tmp_path / f"api{n}.log",
                )
            )
            for n in (1, 2)
        ]
        others = {
            (kind, n): stack.enter_context(background(kind, env, tmp_path / f"{kind}{n}.log"))
            for kind in ("projector", "scheduler", "worker")
            for n in (1, 2)
        }
        (one, _), (two, two_process) = apis

        # A write through one API is read fresh through the other, and so is its cached list.
        session = httpx.post(
            f"{one}/auth/register", json={"email": "scale@example.com", "name": "S", "password": "long enough"}
        ).json()
        headers = {"Authorization": f"Bearer {session['accessToken']}"}
        assert httpx.get(f"{two}/tasks", headers=headers).json()["data"] == []  # cached on the second API now
        fee = {"amount": 300, "currency": "EUR"}
        created = httpx.post(f"{one}/tasks", json={"title": "paid", "fee": fee}, headers=headers).json()
        assert [t["id"] for t in httpx.get(f"{two}/tasks", headers=headers).json()["data"]] == [created["id"]]

        # Rate limits are shared: failed logins spread over both APIs count together.
        wrong = {"email": "scale@example.com", "password": "wrong password"}
        answers = [httpx.post(f"{url}/auth/login", json=wrong).status_code for url in (one, two, one, two, one, two)]
        assert 429 in answers, answers

        # Each follower is active in exactly one process.
        eventually(lambda: all(len(p) == 1 for p in active_followers(database_url).values()), "one active each")

        # Kill one process of each kind: the API that was read from, and the active projector and scheduler.
        active = active_followers(database_url)
        killed = {active["task_activity"][0], active["refund_dispatcher"][0], others[("worker", 1)].pid}
        # The API dies whole: granian's main process and its worker processes (which would outlive it).
        for pid in [two_process.pid, *children(two_process.pid)]:
            os.kill(pid, signal.SIGKILL)
        for pid in killed:
            os.kill(pid, signal.SIGKILL)

        # The service is whole: the other API serves, a refund is paid, and the followers move to the survivors.
        refund = httpx.post(f"{one}/tasks/{created['id']}/refund", headers=headers).json()
        eventually(
            lambda: httpx.get(f"{one}/refunds/{refund['id']}", headers=headers).json()["status"] == "SUCCEEDED",
            "the refund was not paid after the kills",
        )
        eventually(
            lambda: all(p and not set(p) & killed for p in active_followers(database_url).values()),
            "a follower did not move to a surviving process",
        )
        last = scalar(database_url, "SELECT max(position) FROM events")
        eventually(
            lambda: (
                scalar(database_url, "SELECT position FROM follower_checkpoints WHERE name = 'task_activity'") >= last
            ),
            "task_activity did not catch up after its projector was killed",
        )


def children(parent: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def scalar(database_url: str, query: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0

"""The service as an operator runs it: real `taskflow` processes, spoken to over real sockets."""

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infrastructure.settings import Settings
from tests.e2e.processes import base_environment, free_port, login, taskflow


class TestServe:
    def test_serves_the_api_on_the_given_servers(self, settings: Settings, tmp_path: Path) -> None:
        assert settings.database_url
        assert settings.redis_url
        env = base_environment(
            TASKFLOW_DATABASE_URL=settings.database_url,
            TASKFLOW_REDIS_URL=settings.redis_url,
            PORT=str(free_port()),
            TASKFLOW_WORKERS="2",
        )
        with taskflow("serve", env, tmp_path / "serve.log") as (url, _):
            registered = httpx.post(
                f"{url}/auth/register",
                json={"email": "proc@example.com", "name": "Proc", "password": "long enough"},
                timeout=10,
            )
            assert registered.status_code == 201, registered.text
            headers = {"Authorization": f"Bearer {registered.json()['accessToken']}"}
            created = httpx.post(f"{url}/tasks", json={"title": "over a socket"}, headers=headers, timeout=10)
            assert created.status_code == 201
            # Two workers: every request, whichever worker takes it, reads the write.
            for _ in range(10):
                listed = httpx.get(f"{url}/tasks", headers=headers, timeout=10).json()
                assert [t["id"] for t in listed["data"]] == [created.json()["id"]]
            assert httpx.get(f"{url}/ready", timeout=10).status_code == 200


class TestRun:
    def test_fresh_start_on_embedded_servers_then_a_full_session(self, tmp_path: Path) -> None:
        env = base_environment(TASKFLOW_DATA_DIR=str(tmp_path / "data"), PORT=str(free_port()))
        log = tmp_path / "run.log"
        with taskflow("run", env, log) as (url, _):
            printed = log.read_text()
            assert f"TaskFlow on {url}" in printed
            assert f"{url}/schema/swagger" in printed
            assert "user@example.com / user123" in printed
            assert "admin@example.com / admin123" in printed

            user = login(url, "user@example.com", "user123")
            titles = {t["title"] for t in httpx.get(f"{url}/tasks", headers=user, timeout=10).json()["data"]}
            assert titles == {"Design database schema", "Setup development environment"}

            created = httpx.post(f"{url}/tasks", json={"title": "Mine"}, headers=user, timeout=10).json()
            patched = httpx.patch(
                f"{url}/tasks/{created['id']}", json={"priority": "HIGH"}, headers=user | {"If-Match": '"1"'}
            )
            assert patched.json()["version"] == 2
            everything = [t["id"] for t in httpx.get(f"{url}/tasks", headers=user, timeout=10).json()["data"]]
            batch = httpx.post(
                f"{url}/tasks/batch", json={"action": "complete", "taskIds": everything}, headers=user, timeout=10
            )
            assert batch.json()["succeeded"] == 3
            assert httpx.delete(f"{url}/tasks/{created['id']}", headers=user, timeout=10).status_code == 204

            admin = login(url, "admin@example.com", "admin123")
            all_titles = [t["title"] for t in httpx.get(f"{url}/tasks", headers=admin, timeout=10).json()["data"]]
            assert len(all_titles) == 5

            # The scheduler and the worker run too: a refund is paid by the simulated gateway.
            fee = {"amount": 700, "currency": "GBP"}
            paid = httpx.post(f"{url}/tasks", json={"title": "Paid", "fee": fee}, headers=user, timeout=10).json()
            refund = httpx.post(f"{url}/tasks/{paid['id']}/refund", headers=user, timeout=10).json()
            deadline = time.monotonic() + 30
            while (found := httpx.get(f"{url}/refunds/{refund['id']}", headers=user, timeout=10).json())[
                "status"
            ] == "REQUESTED":
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert (found["status"], found["attempts"]) == ("SUCCEEDED", 1)
            # The children share one metrics directory: the API's /metrics counts what the worker appended.
            while 'taskflow_events_appended_total{type="RefundSucceeded"} 1.0' not in httpx.get(f"{url}/metrics").text:
                assert time.monotonic() < deadline, "the worker's appends are not in the API's /metrics"
                time.sleep(0.1)

        # A second start keeps the data and does not seed again.
        with taskflow("run", env, tmp_path / "again.log") as (url, _):
            admin = login(url, "admin@example.com", "admin123")
            assert len(httpx.get(f"{url}/tasks", headers=admin, timeout=10).json()["data"]) == 6


def run_with(tmp_path: Path, command: str = "migrate", **variables: str) -> tuple[int, list[str]]:
    """`taskflow <command>` in this environment: its exit code and the lines it wrote on stderr."""
    env = base_environment(TASKFLOW_DATA_DIR=str(tmp_path), **variables)
    env = {name: value for name, value in env.items() if value}  # an empty value unsets the variable
    result = subprocess.run(
        [sys.executable, "-m", "cli", command], env=env, capture_output=True, timeout=60, check=False
    )
    return result.returncode, result.stderr.decode().strip().splitlines()


class TestConfiguration:
    @pytest.mark.parametrize(
        ("variables", "line"),
        [
            ({"PORT": "eighty"}, "Error: PORT='eighty' is invalid: a port number 1-65535"),
            (
                {"TASKFLOW_ENV": "production", "TASKFLOW_JWT_SECRET": ""},
                "Error: TASKFLOW_JWT_SECRET is required when TASKFLOW_ENV=production",
            ),
            ({"TASKFLOW_ENV": "production"}, "Error: TASKFLOW_METRICS_TOKEN is required when TASKFLOW_ENV=production"),
        ],
    )
    def test_a_bad_or_missing_value_stops_the_program_with_one_line_naming_it(
        self, tmp_path: Path, variables: dict[str, str], line: str
    ) -> None:
        code, lines = run_with(tmp_path, **variables)
        assert code != 0
        assert lines == [line]

    def test_the_scheduler_stops_at_a_bad_check_period(self, tmp_path: Path) -> None:
        code, lines = run_with(tmp_path, "scheduler", TASKFLOW_OVERDUE_CHECK_SECONDS="-5")
        assert code != 0
        assert lines == ["Error: TASKFLOW_OVERDUE_CHECK_SECONDS='-5' is invalid: seconds, 0.1-86400"]

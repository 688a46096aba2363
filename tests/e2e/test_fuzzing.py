"""Fuzzing from the contract: schemathesis runs every operation of the app's own OpenAPI document against a real
`taskflow serve`, as a user and as an admin, with the checks not_a_server_error, response_schema_conformance,
status_code_conformance and negative_data_rejection, and ours (tests/e2e/fuzz_checks.py): a 400 names its fields
as the wire does, in plain words. POST /auth/logout is left out: it revokes the very token the
run authenticates with (its own tests are in test_security.py)."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from application.seed import ADMIN, SEED_CONTEXT
from application.users import RegisterUser, register_user
from infrastructure.bootstrap import open_runtime
from infrastructure.settings import Settings
from tests.e2e.processes import free_port, login, servers_environment, taskflow

CHECKS = (
    "not_a_server_error,response_schema_conformance,status_code_conformance,negative_data_rejection,plain_field_errors"
)
PROJECT = Path(__file__).parents[2]
EXAMPLES = "15"
PASSWORD = "correct horse battery"


async def make_admin(settings: Settings) -> None:
    """An admin, registered through the application (the API never grants the role)."""
    async with open_runtime(settings) as runtime:
        command = RegisterUser(email=ADMIN.email, name="Admin", password=PASSWORD)
        await register_user(command, SEED_CONTEXT, runtime.deps.users, ADMIN.role)


@pytest.mark.timeout(600)
def test_the_contract_holds_under_fuzzing(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url
    assert settings.redis_url
    asyncio.run(make_admin(settings))
    env = servers_environment(
        settings,
        PORT=str(free_port()),
        TASKFLOW_API_RATE_LIMIT="1000000/minute",
        TASKFLOW_LOGIN_RATE_LIMIT="1000000/minute",
        TASKFLOW_LOG_LEVEL="WARNING",
    )
    with taskflow("serve", env, tmp_path / "serve.log") as (url, _):
        registered = httpx.post(
            f"{url}/auth/register", json={"email": "fuzz@example.com", "name": "Fuzz", "password": PASSWORD}, timeout=10
        )
        assert registered.status_code == 201, registered.text
        tokens = {
            "user": f"Bearer {registered.json()['accessToken']}",
            "admin": login(url, ADMIN.email, PASSWORD)["Authorization"],
        }
        for who, token in tokens.items():
            run = subprocess.run(
                [
                    str(Path(sys.executable).parent / "schemathesis"),
                    "run",
                    f"{url}/schema/openapi.json",
                    "--checks",
                    CHECKS,
                    "--header",
                    f"Authorization: {token}",
                    "--exclude-path",
                    "/auth/logout",
                    "--max-examples",
                    EXAMPLES,
                    "--seed",
                    "20261126",
                    "--no-color",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp_path,  # its cassettes and reports stay out of the project
                env=os.environ | {"SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_checks", "PYTHONPATH": str(PROJECT)},
                check=False,
            )
            assert run.returncode == 0, f"as {who}:\n{run.stdout[-8000:]}\n{run.stderr[-2000:]}"

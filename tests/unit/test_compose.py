"""compose.yaml: valid against the Compose Specification, and the whole stack with health checks and restarts."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).parents[2] / "compose.yaml"
LONG_RUNNING = ("postgres", "redis", "api", "projector", "scheduler", "worker")


def load() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    # check-jsonschema carries the Compose Specification's own schema (docker compose may not be installed).
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_process_kind_is_there_with_health_checks_and_restarts() -> None:
    services = load()["services"]
    assert set(services) == {"postgres", "redis", "migrate", *LONG_RUNNING}
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "projector", "scheduler", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert services[name]["deploy"]["replicas"] >= 2, name


def test_processes_without_a_port_are_checked_by_their_heartbeat_file() -> None:
    document = load()
    beat = document["x-taskflow"]["environment"]["TASKFLOW_HEARTBEAT_FILE"]
    for name in ("projector", "scheduler", "worker"):
        assert beat in " ".join(document["services"][name]["healthcheck"]["test"]), name


def test_production_gets_its_secrets_from_the_environment() -> None:
    """TASKFLOW_ENV=production refuses to start without a JWT secret and a metrics token: compose asks for both."""
    environment = load()["x-taskflow"]["environment"]
    assert environment["TASKFLOW_ENV"] == "production"
    for name in ("TASKFLOW_JWT_SECRET", "TASKFLOW_METRICS_TOKEN"):
        assert environment[name].startswith(f"${{{name}:?"), name

"""The long-running commands: `taskflow run` (everything), `serve`, `projector`, `worker` and `scheduler`."""

import asyncio
import sys

import click

from application.seed import ADMIN, USER
from cli.database import seeded
from cli.runtime import resolved_settings
from infrastructure.metrics import shared_directory
from infrastructure.postgres.migrations import apply_migrations
from infrastructure.processes.api_server import child_environment, serve_api
from infrastructure.processes.heartbeat import with_heartbeat
from infrastructure.processes.metrics_server import serve_process_metrics
from infrastructure.processes.signals import run_bounded
from infrastructure.processes.supervisor import run_side_by_side
from infrastructure.settings import Environment

# What `taskflow run` starts, in order (and stops in reverse: the API first).
CHILDREN = ("projector", "scheduler", "worker", "serve")


@click.command()
def serve() -> None:
    """Run the HTTP API (granian, TASKFLOW_WORKERS processes)."""
    with resolved_settings() as settings:
        serve_api(settings)


@click.command()
def projector() -> None:
    """Run the log followers: asynchronous projections and the cache backstop (one active per follower)."""
    from infrastructure.processes.projector import run_projector

    with resolved_settings() as settings:
        serve_process_metrics(settings.host, settings.metrics_port, settings.metrics_token)
        asyncio.run(with_heartbeat(settings.heartbeat_file, run_projector(settings)))


@click.command()
def worker() -> None:
    """Run refund jobs from the queue (Taskiq, Redis stream; any number of workers may run)."""
    from infrastructure.processes.refund_worker import run_worker

    with resolved_settings() as settings:
        serve_process_metrics(settings.host, settings.metrics_port, settings.metrics_token)
        run_bounded(with_heartbeat(settings.heartbeat_file, run_worker(settings)), grace_seconds=3.0)


@click.command()
def scheduler() -> None:
    """Dispatch refund jobs from the log (each attempt queued when due, lost ones queued again) and mark tasks
    overdue as their due dates pass."""
    from infrastructure.processes.scheduler import run_scheduler

    with resolved_settings() as settings:
        serve_process_metrics(settings.host, settings.metrics_port, settings.metrics_token)
        asyncio.run(with_heartbeat(settings.heartbeat_file, run_scheduler(settings)))


@click.command()
def run() -> None:
    """Run the whole service: migrate, seed on first start, then the projector, the scheduler and the worker, and
    the API (embedded servers when no URLs are set)."""
    with resolved_settings() as settings:
        assert settings.database_url is not None
        apply_migrations(settings.database_url)
        if settings.env is not Environment.PRODUCTION:
            seeded(settings)
        url = f"http://{settings.host}:{settings.port}"
        click.echo(f"TaskFlow on {url}  (docs: {url}/schema/swagger, auditor's console: {url}/console)")
        if settings.env is not Environment.PRODUCTION:
            for login in (ADMIN, USER):
                click.echo(f"  login: {login.email} / {login.password} ({login.role.value})")
        with shared_directory():  # one metrics directory for every child: the API's /metrics counts them all
            # The children share the API's metrics and run side by side: no port or heartbeat file of their own.
            private = ("TASKFLOW_METRICS_PORT", "TASKFLOW_HEARTBEAT_FILE")
            env = {k: v for k, v in child_environment(settings).items() if k not in private}
            commands = [[sys.executable, "-m", "cli", command] for command in CHILDREN]
            run_side_by_side(commands, env, settings.shutdown_seconds)

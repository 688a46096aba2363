"""The API server process: granian's workers on the ASGI app, counting their metrics in one shared directory."""

import os

from infrastructure.metrics import shared_directory
from infrastructure.settings import Settings


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment for child processes: the resolved URLs, so they join the same servers."""
    assert settings.database_url is not None
    assert settings.redis_url is not None
    return os.environ | {"TASKFLOW_DATABASE_URL": settings.database_url, "TASKFLOW_REDIS_URL": settings.redis_url}


def serve_api(settings: Settings) -> None:
    """Serve the API until SIGTERM/SIGINT: TASKFLOW_WORKERS granian processes, each building the app from the
    environment."""
    os.environ.update(child_environment(settings))
    with shared_directory():  # the granian workers' metrics, summed by whichever answers /metrics
        _granian(settings)


def _granian(settings: Settings) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "api.asgi:app_from_env",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        workers_kill_timeout=max(1, round(settings.shutdown_seconds)),
        log_access=False,
    ).serve()

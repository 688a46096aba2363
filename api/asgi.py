"""The ASGI entry point for granian workers: settings come from the environment of the process."""

from litestar import Litestar

from api.app import create_app
from infrastructure.logs import configure_logging
from infrastructure.processes.heap import settle_heap
from infrastructure.settings import load_settings


def app_from_env() -> Litestar:
    """Factory granian calls in each worker process; the worker's heap is settled once the app has started."""
    settings = load_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    app.on_startup.append(settle_heap)
    return app

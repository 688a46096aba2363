"""The ASGI entry point for granian workers: settings come from the environment of the process."""

from litestar import Litestar

from api.app import create_app
from infrastructure.settings import load_settings


def app_from_env() -> Litestar:
    """Factory granian calls in each worker process."""
    return create_app(load_settings())

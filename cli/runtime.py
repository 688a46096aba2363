"""What the commands share: the settings (embedded servers for unset URLs), the operator, one runtime a command."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import click
import msgspec

from application.context import Actor, RequestContext
from domain.values import Role
from infrastructure.logs import configure_logging
from infrastructure.processes.embedded_servers import with_servers
from infrastructure.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from infrastructure.bootstrap import Runtime

T = TypeVar("T")

# The operator at the command line acts as an admin; events it causes name the nil id as their actor.
OPERATOR = RequestContext(actor=Actor(UUID(int=0), Role.ADMIN), request_id="cli", correlation_id="cli")
# A command that reads the whole log gives each statement this long (a request gets TASKFLOW_DATABASE_TIMEOUT_SECONDS).
LONG_READ_SECONDS = 30.0


@contextmanager
def resolved_settings() -> Iterator[Settings]:
    """Settings from the environment, with embedded servers for unset URLs; a bad value exits with one line."""
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(settings.log_level)
    with with_servers(settings) as resolved:
        yield resolved


def for_long_reads(settings: Settings) -> Settings:
    """`settings` with room for the statements of a read of the whole log."""
    return msgspec.structs.replace(settings, database_timeout_seconds=LONG_READ_SECONDS)


def with_runtime(settings: Settings, work: Callable[["Runtime"], Awaitable[T]]) -> T:
    """Run `work` with one runtime opened for it (the composition root's pool and Redis client)."""
    # Imported here: the commands that need no runtime start without loading the adapters.
    from infrastructure.bootstrap import open_runtime

    async def run() -> T:
        async with open_runtime(settings) as runtime:
            return await work(runtime)

    return asyncio.run(run())

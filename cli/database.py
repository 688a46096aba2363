"""`taskflow migrate` and `taskflow seed`: the database's schema, and the sample logins and tasks."""

import click

from application.seed import seed as seed_once
from cli.runtime import resolved_settings, with_runtime
from infrastructure.postgres.migrations import apply_migrations
from infrastructure.settings import Environment, Settings


@click.command()
def migrate() -> None:
    """Apply pending database migrations."""
    with resolved_settings() as settings:
        assert settings.database_url is not None
        click.echo(f"applied {apply_migrations(settings.database_url)} migration(s)")


@click.command()
def seed() -> None:
    """Create the sample logins and tasks (once; refused in production)."""
    with resolved_settings() as settings:
        if settings.env is Environment.PRODUCTION:
            raise click.ClickException("seed refuses to run when TASKFLOW_ENV=production")
        assert settings.database_url is not None
        apply_migrations(settings.database_url)
        click.echo("seeded" if seeded(settings) else "already seeded")


def seeded(settings: Settings) -> bool:
    """Seed once: False when the sample logins exist already."""
    return with_runtime(settings, lambda runtime: seed_once(runtime.deps.users))
